//! The analysis pipeline: read every input, build the snapshot, judge it, hand the result to a
//! renderer.
