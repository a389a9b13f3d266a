//! The schema itself: it is a valid JSON Schema, real output conforms to it, and it rejects what
//! a consumer must never see (a renamed field, an unknown state, a missing key). Without the last
//! part a schema that accepts anything would pass every other test.

mod support;

use serde_json::{json, Value};
use support::schema::violations;
use support::*;

fn real_document() -> Value {
    let lo = Loopback::claim();
    let _l = lo.listen(4026);
    run_json(&["--timeout", "300ms", &lo.ip.to_string()]).0
}

#[test]
fn real_output_conforms() {
    assert!(violations(&real_document()).is_empty());
}

#[test]
fn the_schema_rejects_what_would_break_consumers() {
    let doc = real_document();
    let mut renamed = doc.clone();
    let port = &mut renamed["targets"][0]["addresses"][0]["ports"][0];
    let state = port["state"].take();
    port.as_object_mut().unwrap().remove("state");
    port["status"] = state;
    assert!(
        !violations(&renamed).is_empty(),
        "a renamed field must fail"
    );

    let mut unknown_state = doc.clone();
    unknown_state["targets"][0]["addresses"][0]["ports"][0]["state"] = json!("half-open");
    assert!(
        !violations(&unknown_state).is_empty(),
        "an unknown state must fail"
    );

    let mut missing = doc.clone();
    missing["targets"][0]["verdict"]
        .as_object_mut()
        .unwrap()
        .remove("endpoints");
    assert!(
        !violations(&missing).is_empty(),
        "a missing field must fail"
    );

    let mut wrong_version = doc;
    wrong_version["schema_version"] = json!(2);
    assert!(
        !violations(&wrong_version).is_empty(),
        "another schema version must fail"
    );

    assert!(!violations(&json!({"type": "host"})).is_empty());
    assert!(!violations(&json!("not an object")).is_empty());
}
