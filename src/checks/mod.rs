//! Rules: each has a code, a severity, a doc page and an evaluate function that yields findings
//! and a coverage status (pass, fail, not-evaluable, not-applicable).
