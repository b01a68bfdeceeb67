use super::*;

#[test]
fn bodies_are_marathons() {
    let id = PathId::parse("/x");
    assert_eq!(
        app_not_found(&id),
        json!({"message": "App '/x' does not exist"})
    );
    assert_eq!(
        app_exists(&id),
        json!({"message": "An app with id [/x] already exists."})
    );
    assert_eq!(
        locked(["d1", "d2"]),
        json!({"message": LOCKED_MESSAGE, "deployments": [{"id": "d1"}, {"id": "d2"}]})
    );
    assert_eq!(
        invalid_json(&[Violation::new("/cpus", "error.expected.jsnumber")]),
        json!({"message": "Invalid JSON", "details": [{"path": "/cpus", "errors": ["error.expected.jsnumber"]}]})
    );
    assert_eq!(
        deployment_result("d", "v"),
        json!({"deploymentId": "d", "version": "v"})
    );
    assert_eq!(not_valid(&[])["message"], json!("Object is not valid"));
}
