//! Renderers of the analysis: text (for people) and JSON (the contract in `docs/analyze.schema.json`).
