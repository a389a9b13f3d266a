//! The output contract: every JSON value a test reads from the binary must match
//! `schema/output.v1.schema.json` (validated with the jsonschema crate, not by hand).

use serde_json::Value;

/// The schema, compiled once per test binary.
fn validator() -> &'static jsonschema::Validator {
    static V: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/output.v1.schema.json");
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{path} is not a valid schema: {e}"))
    })
}

/// The schema's complaints about `v`, one line each; empty when it conforms.
pub fn violations(v: &Value) -> Vec<String> {
    validator()
        .iter_errors(v)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

/// Panics, showing the document, when `v` does not match the schema.
pub fn assert_schema(v: &Value) {
    let errors = violations(v);
    assert!(
        errors.is_empty(),
        "output violates schema/output.v1.schema.json:\n  {}\n{v:#}",
        errors.join("\n  ")
    );
}
