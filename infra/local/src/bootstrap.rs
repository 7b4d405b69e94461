//! Creates, in the local AWS endpoint, what the SAM template would: the table, the bus,
//! the state machines (and a role for them). Existing ones are kept or updated.

use crate::aws_wire::fake_signature;
use crate::template::{Wiring, ACCOUNT};
use serde_json::{json, Value};

/// A JSON-protocol call straight to moto, for requests whose input is the template's own
/// JSON (CreateTable takes the table's properties nearly as they are).
async fn dynamodb_call(http: &reqwest::Client, moto_url: &str, operation: &str, body: Value) -> Result<Value, String> {
    let answer = http
        .post(moto_url)
        .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("authorization", fake_signature("dynamodb"))
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status();
    let value: Value = answer.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!("{operation}: {value}"))
    }
}

pub async fn create_table(http: &reqwest::Client, moto_url: &str, wiring: &Wiring) -> Result<String, String> {
    let properties = &wiring.table;
    let name = properties["TableName"].as_str().ok_or("the table has no TableName")?.to_string();
    let mut request = json!({
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties["BillingMode"],
    });
    if !properties["GlobalSecondaryIndexes"].is_null() {
        request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"].clone();
    }
    if let Some(view) = properties["StreamSpecification"]["StreamViewType"].as_str() {
        request["StreamSpecification"] = json!({"StreamEnabled": true, "StreamViewType": view});
    }
    match dynamodb_call(http, moto_url, "CreateTable", request).await {
        Ok(_) => {}
        Err(e) if e.contains("ResourceInUseException") => return Ok(name),
        Err(e) => return Err(e),
    }
    if let Some(attribute) = properties["TimeToLiveSpecification"]["AttributeName"].as_str() {
        dynamodb_call(
            http,
            moto_url,
            "UpdateTimeToLive",
            json!({"TableName": name, "TimeToLiveSpecification": {"AttributeName": attribute, "Enabled": true}}),
        )
        .await?;
    }
    Ok(name)
}

pub async fn create_bus(events: &aws_sdk_eventbridge::Client, name: &str) -> Result<(), String> {
    match events.create_event_bus().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => Ok(()),
        Err(e) => Err(aws_sdk_eventbridge::error::DisplayErrorContext(&e).to_string()),
    }
}

/// Buckets (S3 through moto; path style).
pub async fn create_buckets(http: &reqwest::Client, moto_url: &str, wiring: &Wiring) -> Result<(), String> {
    for bucket in &wiring.buckets {
        let name = &bucket.name;
        let answer = http
            .put(format!("{moto_url}/{name}"))
            .header("authorization", fake_signature("s3"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !answer.status().is_success() && answer.status().as_u16() != 409 {
            return Err(format!("creating bucket {name}: {}", answer.text().await.unwrap_or_default()));
        }
        if bucket.event_bridge {
            // S3 then sends its events to EventBridge (moto does, to every bus's rules).
            let configuration = r#"<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><EventBridgeConfiguration/></NotificationConfiguration>"#;
            let answer = http
                .put(format!("{moto_url}/{name}?notification"))
                .header("authorization", fake_signature("s3"))
                .body(configuration)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !answer.status().is_success() {
                return Err(format!("EventBridge notifications of bucket {name}: {}", answer.text().await.unwrap_or_default()));
            }
        }
        if bucket.versioned {
            let configuration = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
            let answer = http
                .put(format!("{moto_url}/{name}?versioning"))
                .header("authorization", fake_signature("s3"))
                .body(configuration)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !answer.status().is_success() {
                return Err(format!("versioning of bucket {name}: {}", answer.text().await.unwrap_or_default()));
            }
        }
    }
    Ok(())
}

/// Roles the system hands to AWS services (Lambda's execution role for transforms).
pub async fn create_roles(iam: &aws_sdk_iam::Client, wiring: &Wiring) -> Result<(), String> {
    for (name, trust) in &wiring.roles {
        match iam.create_role().role_name(name).assume_role_policy_document(trust.to_string()).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_entity_already_exists_exception()) => {}
            Err(e) => return Err(aws_sdk_iam::error::DisplayErrorContext(&e).to_string()),
        }
    }
    Ok(())
}

/// The role Step Functions assumes (SAM derives one per state machine from `Policies`).
pub async fn create_states_role(iam: &aws_sdk_iam::Client) -> Result<String, String> {
    let name = "tributary-states";
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    match iam.create_role().role_name(name).assume_role_policy_document(trust.to_string()).send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_entity_already_exists_exception()) => {}
        Err(e) => return Err(aws_sdk_iam::error::DisplayErrorContext(&e).to_string()),
    }
    Ok(format!("arn:aws:iam::{ACCOUNT}:role/{name}"))
}

pub async fn create_state_machines(sfn: &aws_sdk_sfn::Client, wiring: &Wiring, role_arn: &str) -> Result<Vec<String>, String> {
    let mut arns = Vec::new();
    for machine in &wiring.state_machines {
        let definition = machine.definition()?;
        let arn = crate::template::state_machine_arn(&machine.name);
        let created = sfn.create_state_machine().name(&machine.name).definition(&definition).role_arn(role_arn).send().await;
        match created {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_state_machine_already_exists()) => {
                sfn.update_state_machine()
                    .state_machine_arn(&arn)
                    .definition(&definition)
                    .send()
                    .await
                    .map_err(|e| format!("{}: {}", machine.name, aws_sdk_sfn::error::DisplayErrorContext(&e)))?;
            }
            Err(e) => return Err(format!("{}: {}", machine.name, aws_sdk_sfn::error::DisplayErrorContext(&e))),
        }
        arns.push(arn);
    }
    Ok(arns)
}
