//! Local wiring from `infra/template.yaml`, the file that deploys to AWS: the table,
//! the functions (binary, environment), the state machines (definition, substitutions),
//! the bus. Intrinsics are resolved the way CloudFormation would, with local ARNs.

use serde_json::{json, Map, Value};
use serde_yaml::value::TaggedValue;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const STACK: &str = "tributary";

#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub name: String,
    pub binary: String,
    pub timeout_seconds: u64,
    pub memory_mb: u64,
    pub environment: BTreeMap<String, String>,
    /// Event source types (`HttpApi`, `DynamoDB`, `Schedule`, `EventBridgeRule`).
    pub event_types: Vec<String>,
    /// The function's EventBridge rules (its `EventBridgeRule` events).
    pub event_rules: Vec<EventRule>,
    /// The HTTP API routes that invoke it (its `HttpApi` events).
    pub http_routes: Vec<HttpRoute>,
    /// Its `DynamoDB` event's filter patterns (`FilterCriteria.Filters[].Pattern`, parsed):
    /// Lambda hands it only the stream records that match one (all, when there are none).
    pub table_stream_filters: Vec<Value>,
}

/// An HTTP API route: `Method` (`ANY` for all), `Path` (`{name}` and greedy `{name+}`
/// variables), whether the API's default authorizer guards it (`Auth.Authorizer: NONE`
/// opens it), and the scopes a token needs there (`Auth.AuthorizationScopes`, else the
/// authorizer's; none: any valid token).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRoute {
    pub method: String,
    pub path: String,
    pub authorized: bool,
    pub scopes: Vec<String>,
}

/// The HTTP API's default JWT authorizer (`Auth.Authorizers.<DefaultAuthorizer>`), resolved:
/// `JwtConfiguration`'s issuer and audience, and its `AuthorizationScopes`.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtAuthorizerDef {
    pub issuer: String,
    pub audience: Vec<String>,
    pub scopes: Vec<String>,
}

/// The HTTP API stage's throttle of every route (`DefaultRouteSettings`): requests a second
/// and the burst above it, each route a bucket of its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteThrottleDef {
    pub rate_per_second: f64,
    pub burst: f64,
}

/// An EventBridge rule whose target is a function.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRule {
    pub name: String,
    /// The bus it matches events on (`default` unless the event names one).
    pub bus: String,
    pub pattern: Value,
}

/// A bucket, whether it sends its events to EventBridge (`NotificationConfiguration.EventBridgeConfiguration`)
/// and whether it keeps versions (`VersioningConfiguration`).
#[derive(Debug, Clone, PartialEq)]
pub struct BucketDef {
    pub name: String,
    pub event_bridge: bool,
    pub versioned: bool,
}

#[derive(Debug, Clone)]
pub struct StateMachineDef {
    pub name: String,
    pub definition_path: PathBuf,
    pub substitutions: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Wiring {
    /// The table's CloudFormation properties, resolved (CreateTable's shape, nearly).
    pub table: Value,
    pub bus_name: String,
    pub buckets: Vec<BucketDef>,
    /// IAM roles the system passes to AWS services (name, trust policy).
    pub roles: Vec<(String, Value)>,
    pub functions: Vec<FunctionDef>,
    pub state_machines: Vec<StateMachineDef>,
    /// The HTTP API's JWT authorizer, if it has one.
    pub jwt_authorizer: Option<JwtAuthorizerDef>,
    /// The HTTP API stage's route throttle, if it has one.
    pub route_throttle: Option<RouteThrottleDef>,
}

pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

pub fn state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}")
}

/// `TRIBUTARY_PARAMETER_<Name>` overrides a template parameter's default.
pub const PARAMETER_OVERRIDE_PREFIX: &str = "TRIBUTARY_PARAMETER_";

struct Resolver<'a> {
    resources: &'a Map<String, Value>,
    parameters: &'a Map<String, Value>,
    conditions: &'a Map<String, Value>,
    /// Parameter values tributary-local gives where the template's default would not do
    /// locally (the local issuer as `JwtIssuer`); `TRIBUTARY_PARAMETER_<Name>` still wins.
    local_parameters: &'a BTreeMap<String, String>,
}

impl Resolver<'_> {
    fn is_list_parameter(&self, name: &str) -> bool {
        self.parameters.get(name).is_some_and(|parameter| parameter["Type"] == "CommaDelimitedList")
    }

    fn resource_type(&self, id: &str) -> &str {
        self.resources.get(id).and_then(|r| r["Type"].as_str()).unwrap_or("")
    }

    fn property(&self, id: &str, name: &str) -> Value {
        self.resolve(&self.resources[id]["Properties"][name])
    }

    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::StackName" => return STACK.into(),
            "AWS::Region" => return REGION.into(),
            "AWS::AccountId" => return ACCOUNT.into(),
            "AWS::Partition" => return "aws".into(),
            "AWS::URLSuffix" => return "amazonaws.com".into(),
            _ => {}
        }
        if let Some(parameter) = self.parameters.get(name) {
            // As `sam deploy --parameter-overrides Name=value` would set it.
            if let Ok(value) = std::env::var(format!("{PARAMETER_OVERRIDE_PREFIX}{name}")) {
                return value;
            }
            if let Some(value) = self.local_parameters.get(name) {
                return value.clone();
            }
            return match &parameter["Default"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
        }
        match self.resource_type(name) {
            "AWS::DynamoDB::Table" => text(&self.property(name, "TableName")),
            "AWS::Events::EventBus" => text(&self.property(name, "Name")),
            "AWS::S3::Bucket" => text(&self.property(name, "BucketName")),
            "AWS::IAM::Role" => text(&self.property(name, "RoleName")),
            "AWS::Serverless::Function" => text(&self.property(name, "FunctionName")),
            "AWS::Serverless::StateMachine" => state_machine_arn(&text(&self.property(name, "Name"))),
            _ => format!("local-{name}"),
        }
    }

    fn attribute(&self, id: &str, attribute: &str) -> String {
        match (self.resource_type(id), attribute) {
            ("AWS::Serverless::Function", "Arn") => function_arn(&self.reference(id)),
            ("AWS::Serverless::StateMachine", "Name") => text(&self.property(id, "Name")),
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{ACCOUNT}:role/{}", self.reference(id)),
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{}", self.reference(id)),
            ("AWS::DynamoDB::Table", "StreamArn") => format!("local-stream-of-{}", self.reference(id)),
            _ => format!("local-{id}.{attribute}"),
        }
    }

    fn substitute(&self, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').map(|e| start + e).unwrap_or(rest.len());
            let name = &rest[start + 2..end];
            out.push_str(&match name.split_once('.') {
                Some((id, attribute)) => self.attribute(id, attribute),
                None => self.reference(name),
            });
            rest = &rest[(end + 1).min(rest.len())..];
        }
        out.push_str(rest);
        out
    }

    /// A `Conditions` entry, or a condition function, evaluated.
    fn condition(&self, name: &str) -> bool {
        self.conditions.get(name).is_some_and(|condition| self.holds(condition))
    }

    fn holds(&self, condition: &Value) -> bool {
        let Some((function, arguments)) = condition.as_object().filter(|map| map.len() == 1).and_then(|map| map.iter().next()) else {
            return false;
        };
        let arguments: Vec<Value> = arguments.as_array().cloned().unwrap_or_else(|| vec![arguments.clone()]);
        match function.trim_start_matches('!').trim_start_matches("Fn::") {
            "Equals" => arguments.len() == 2 && self.resolve(&arguments[0]) == self.resolve(&arguments[1]),
            "Not" => !arguments.first().is_some_and(|c| self.holds(c)),
            "And" => arguments.iter().all(|c| self.holds(c)),
            "Or" => arguments.iter().any(|c| self.holds(c)),
            "Condition" => self.condition(&text(&arguments[0])),
            _ => false,
        }
    }

    fn resolve(&self, value: &Value) -> Value {
        match value {
            // A list parameter is a list where it is referred to whole.
            Value::Object(map) if map.len() == 1 && map.contains_key("!Ref") && self.is_list_parameter(&text(&map["!Ref"])) => {
                let joined = self.reference(&text(&map["!Ref"]));
                json!(joined.split(',').map(str::trim).filter(|item| !item.is_empty()).collect::<Vec<_>>())
            }
            Value::Object(map) if map.len() == 1 && map.contains_key("!Ref") => json!(self.reference(&text(&map["!Ref"]))),
            Value::Object(map) if map.len() == 1 && map.contains_key("!If") => {
                let arguments = map["!If"].as_array().cloned().unwrap_or_default();
                match arguments.as_slice() {
                    [condition, when_true, when_false] => self.resolve(if self.condition(&text(condition)) { when_true } else { when_false }),
                    _ => Value::Null,
                }
            }
            Value::Object(map) if map.len() == 1 && map.contains_key("!Sub") => json!(self.substitute(&text(&map["!Sub"]))),
            Value::Object(map) if map.len() == 1 && map.contains_key("!GetAtt") => {
                let target = text(&map["!GetAtt"]);
                let (id, attribute) = target.split_once('.').unwrap_or((&target, "Arn"));
                json!(self.attribute(id, attribute))
            }
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.resolve(v))).collect()),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
            other => other.clone(),
        }
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// YAML (with CloudFormation's short-form tags) → JSON, tags kept as `{"!Tag": value}`.
fn yaml_to_json(value: serde_yaml::Value) -> Value {
    match value {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => json!(b),
        serde_yaml::Value::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        serde_yaml::Value::String(s) => json!(s),
        serde_yaml::Value::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        serde_yaml::Value::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.as_str().map(str::to_string).unwrap_or_else(|| format!("{k:?}")), yaml_to_json(v)))
                .collect(),
        ),
        serde_yaml::Value::Tagged(tagged) => {
            let TaggedValue { tag, value } = *tagged;
            json!({ tag.to_string(): yaml_to_json(value) })
        }
    }
}

pub fn load(template_path: &Path) -> Result<Wiring, String> {
    load_with(template_path, &BTreeMap::new())
}

/// [`load`], with parameter values of tributary-local's own (below `TRIBUTARY_PARAMETER_<Name>`).
pub fn load_with(template_path: &Path, local_parameters: &BTreeMap<String, String>) -> Result<Wiring, String> {
    let source = std::fs::read_to_string(template_path).map_err(|e| format!("{}: {e}", template_path.display()))?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&source).map_err(|e| format!("{}: {e}", template_path.display()))?;
    let document = yaml_to_json(yaml);
    let template_dir = template_path.parent().unwrap_or(Path::new("."));
    let empty = Map::new();
    let resources = document["Resources"].as_object().ok_or("the template has no Resources")?;
    let parameters = document["Parameters"].as_object().unwrap_or(&empty);
    let conditions = document["Conditions"].as_object().unwrap_or(&empty);
    let resolver = Resolver { resources, parameters, conditions, local_parameters };
    let globals = resolver.resolve(&document["Globals"]["Function"]);
    let list = |value: &Value| -> Vec<String> {
        match value {
            Value::Array(items) => items.iter().map(text).collect(),
            Value::String(item) => vec![item.clone()],
            _ => vec![],
        }
    };
    // A resource whose Condition is false is not created.
    let created = |resource: &Value| resource["Condition"].as_str().is_none_or(|condition| resolver.condition(condition));

    // The API's default authorizer first: routes take its scopes.
    let jwt_authorizer = resources.values().filter(|r| r["Type"] == "AWS::Serverless::HttpApi" && created(r)).find_map(|api| {
        let auth = &api["Properties"]["Auth"];
        let authorizer = &auth["Authorizers"][auth["DefaultAuthorizer"].as_str()?];
        let configuration = resolver.resolve(&authorizer["JwtConfiguration"]);
        let field = |lower: &str, upper: &str| if configuration[lower].is_null() { configuration[upper].clone() } else { configuration[lower].clone() };
        Some(JwtAuthorizerDef {
            issuer: text(&field("issuer", "Issuer")),
            audience: list(&field("audience", "Audience")),
            scopes: list(&resolver.resolve(&authorizer["AuthorizationScopes"])),
        })
    });

    let route_throttle = resources.values().filter(|r| r["Type"] == "AWS::Serverless::HttpApi" && created(r)).find_map(|api| {
        let settings = resolver.resolve(&api["Properties"]["DefaultRouteSettings"]);
        let number = |name: &str| settings[name].as_f64().or_else(|| settings[name].as_str()?.parse().ok());
        Some(RouteThrottleDef { rate_per_second: number("ThrottlingRateLimit")?, burst: number("ThrottlingBurstLimit")? })
    });

    let mut wiring = Wiring {
        table: Value::Null,
        bus_name: String::new(),
        buckets: vec![],
        roles: vec![],
        functions: vec![],
        state_machines: vec![],
        jwt_authorizer: jwt_authorizer.clone(),
        route_throttle,
    };
    for (id, resource) in resources.iter().filter(|(_, resource)| created(resource)) {
        match resource["Type"].as_str().unwrap_or("") {
            "AWS::DynamoDB::Table" => wiring.table = resolver.resolve(&resource["Properties"]),
            "AWS::Events::EventBus" => wiring.bus_name = resolver.reference(id),
            "AWS::S3::Bucket" => {
                let notifications = &resource["Properties"]["NotificationConfiguration"]["EventBridgeConfiguration"];
                let event_bridge = notifications["EventBridgeEnabled"].as_bool().unwrap_or(false);
                let versioned = resource["Properties"]["VersioningConfiguration"]["Status"] == "Enabled";
                wiring.buckets.push(BucketDef { name: resolver.reference(id), event_bridge, versioned });
            }
            "AWS::IAM::Role" => wiring.roles.push((resolver.reference(id), resolver.resolve(&resource["Properties"]["AssumeRolePolicyDocument"]))),
            "AWS::Serverless::Function" => {
                let properties = resolver.resolve(&resource["Properties"]);
                let mut environment = BTreeMap::new();
                for source in [&globals["Environment"]["Variables"], &properties["Environment"]["Variables"]] {
                    for (key, value) in source.as_object().unwrap_or(&empty) {
                        environment.insert(key.clone(), text(value));
                    }
                }
                let number = |name: &str, default: u64| {
                    properties[name].as_u64().or_else(|| globals[name].as_u64()).unwrap_or(default)
                };
                let name = resolver.reference(id);
                let events_of = |event_type: &'static str| {
                    properties["Events"].as_object().into_iter().flatten().filter(move |(_, event)| event["Type"] == event_type)
                };
                let event_rules = events_of("EventBridgeRule")
                    .map(|(event_id, event)| EventRule {
                        name: format!("{name}-{event_id}"),
                        bus: event["Properties"]["EventBusName"].as_str().unwrap_or("default").to_string(),
                        pattern: event["Properties"]["Pattern"].clone(),
                    })
                    .collect();
                let http_routes = events_of("HttpApi")
                    .map(|(_, event)| {
                        let auth = &event["Properties"]["Auth"];
                        let authorized = auth["Authorizer"] != "NONE";
                        let scopes = match &auth["AuthorizationScopes"] {
                            Value::Null => jwt_authorizer.as_ref().map(|a| a.scopes.clone()).unwrap_or_default(),
                            own => list(own),
                        };
                        HttpRoute {
                            method: event["Properties"]["Method"].as_str().unwrap_or("ANY").to_ascii_uppercase(),
                            path: event["Properties"]["Path"].as_str().unwrap_or("/{proxy+}").to_string(),
                            authorized,
                            scopes: if authorized { scopes } else { vec![] },
                        }
                    })
                    .collect();
                wiring.functions.push(FunctionDef {
                    name,
                    event_rules,
                    http_routes,
                    binary: text(&resource["Metadata"]["BuildProperties"]["Binary"]),
                    timeout_seconds: number("Timeout", 3),
                    memory_mb: number("MemorySize", 128),
                    environment,
                    event_types: properties["Events"]
                        .as_object()
                        .map(|events| events.values().map(|e| text(&e["Type"])).collect())
                        .unwrap_or_default(),
                    table_stream_filters: events_of("DynamoDB")
                        .flat_map(|(_, event)| event["Properties"]["FilterCriteria"]["Filters"].as_array().cloned().unwrap_or_default())
                        .filter_map(|filter| serde_json::from_str(filter["Pattern"].as_str()?).ok())
                        .collect(),
                });
            }
            "AWS::Serverless::StateMachine" => {
                let properties = resolver.resolve(&resource["Properties"]);
                wiring.state_machines.push(StateMachineDef {
                    name: text(&properties["Name"]),
                    definition_path: template_dir.join(text(&properties["DefinitionUri"])),
                    substitutions: properties["DefinitionSubstitutions"]
                        .as_object()
                        .unwrap_or(&empty)
                        .iter()
                        .map(|(k, v)| (k.clone(), text(v)))
                        .collect(),
                });
            }
            _ => {}
        }
    }
    Ok(wiring)
}

impl StateMachineDef {
    /// The definition with `${…}` substitutions applied, as Step Functions receives it.
    pub fn definition(&self) -> Result<String, String> {
        let mut definition = std::fs::read_to_string(&self.definition_path).map_err(|e| format!("{}: {e}", self.definition_path.display()))?;
        for (key, value) in &self.substitutions {
            definition = definition.replace(&format!("${{{key}}}"), value);
        }
        Ok(definition)
    }
}

/// Event source types tributary-local can drive; a template function with any other
/// would run on AWS and not here.
pub const SUPPORTED_EVENT_TYPES: &[&str] = &["HttpApi", "DynamoDB", "Schedule", "EventBridgeRule"];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn wiring() -> Wiring {
        load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")).unwrap()
    }

    #[test]
    fn the_template_gives_four_functions_with_their_binaries() {
        let names: Vec<_> = wiring().functions.iter().map(|f| (f.name.clone(), f.binary.clone())).collect();
        for role in ["api", "worker", "status", "automation"] {
            assert!(names.contains(&(format!("tributary-{role}"), format!("tributary-{role}"))), "{names:?}");
        }
    }

    #[test]
    fn state_machine_definitions_have_every_substitution_resolved() {
        for machine in wiring().state_machines {
            let definition = machine.definition().unwrap();
            assert!(!definition.contains("${"), "{} uses a substitution the template does not define", machine.name);
        }
    }

    #[test]
    fn every_handler_binary_is_a_template_function_and_every_function_a_handler() {
        let in_template: BTreeSet<String> = wiring().functions.iter().map(|f| f.binary.clone()).collect();
        // A handler is a crate, a directory (beside them: `link.rs`, their shared build script).
        let handlers: BTreeSet<String> = std::fs::read_dir(workspace().join("handlers"))
            .unwrap()
            .map(|entry| entry.unwrap())
            .filter(|entry| entry.file_type().unwrap().is_dir())
            .map(|entry| format!("tributary-{}", entry.file_name().to_string_lossy()))
            .collect();
        assert_eq!(in_template, handlers);
    }

    #[test]
    fn every_state_machine_file_is_deployed_and_every_deployed_one_has_a_file() {
        let in_template: BTreeSet<PathBuf> =
            wiring().state_machines.iter().map(|m| m.definition_path.canonicalize().unwrap()).collect();
        let files: BTreeSet<PathBuf> = std::fs::read_dir(workspace().join("statemachines"))
            .unwrap()
            .map(|entry| entry.unwrap().path().canonicalize().unwrap())
            .filter(|path| path.to_string_lossy().ends_with(".asl.json"))
            .collect();
        assert_eq!(in_template, files);
    }

    #[test]
    fn every_task_resource_is_a_template_function() {
        let wiring = wiring();
        let functions: BTreeSet<String> = wiring.functions.iter().map(|f| function_arn(&f.name)).collect();
        for machine in &wiring.state_machines {
            let definition: Value = serde_json::from_str(&machine.definition().unwrap()).unwrap();
            for (state, body) in definition["States"].as_object().unwrap() {
                if body["Type"] == "Task" {
                    let resource = body["Resource"].as_str().unwrap();
                    assert!(functions.contains(resource), "{}: state {state} runs {resource}", machine.name);
                }
            }
        }
    }

    #[test]
    fn every_transition_leads_to_a_state_of_its_machine() {
        for machine in wiring().state_machines {
            let definition: Value = serde_json::from_str(&machine.definition().unwrap()).unwrap();
            let states = definition["States"].as_object().unwrap();
            let mut targets = vec![definition["StartAt"].clone()];
            for body in states.values() {
                targets.push(body["Next"].clone());
                targets.push(body["Default"].clone());
                for list in ["Catch", "Choices"] {
                    for entry in body[list].as_array().into_iter().flatten() {
                        targets.push(entry["Next"].clone());
                    }
                }
            }
            for target in targets.iter().filter_map(Value::as_str) {
                assert!(states.contains_key(target), "{}: no state named {target}", machine.name);
            }
        }
    }

    #[test]
    fn every_trigger_in_the_template_is_one_tributary_local_drives() {
        for function in wiring().functions {
            for event_type in &function.event_types {
                assert!(SUPPORTED_EVENT_TYPES.contains(&event_type.as_str()), "{}: {event_type}", function.name);
            }
        }
    }

    #[test]
    fn the_stage_throttles_each_route_as_the_template_says() {
        let throttle = wiring().route_throttle.expect("DefaultRouteSettings");
        assert!(throttle.rate_per_second >= 1.0 && throttle.burst >= throttle.rate_per_second, "{throttle:?}");
    }

    #[test]
    fn the_status_function_takes_the_table_stream_but_the_request_rate_buckets() {
        let wiring = wiring();
        let status = wiring.functions.iter().find(|f| f.name == "tributary-status").unwrap();
        assert_eq!(status.table_stream_filters, vec![serde_json::json!({"dynamodb": {"Keys": {"SK": {"S": [{"anything-but": ["RATE#REQUESTS"]}]}}}})]);
    }

    #[test]
    fn the_automation_function_takes_the_data_buckets_error_objects_and_failed_executions() {
        let wiring = wiring();
        let automation = wiring.functions.iter().find(|f| f.name == "tributary-automation").unwrap();
        let sources: BTreeSet<&str> = automation.event_rules.iter().filter_map(|r| r.pattern["source"][0].as_str()).collect();
        assert_eq!(sources, BTreeSet::from(["aws.s3", "aws.states"]));
        let s3 = automation.event_rules.iter().find(|r| r.pattern["source"][0] == "aws.s3").unwrap();
        let data_bucket = format!("{STACK}-data-{ACCOUNT}");
        assert_eq!(s3.pattern["detail"]["bucket"]["name"][0], data_bucket.as_str());
        assert_eq!(s3.bus, "default");
        assert!(wiring.buckets.contains(&BucketDef { name: data_bucket, event_bridge: true, versioned: true }));
    }

    #[test]
    fn given_local_parameters_when_loaded_then_the_authorizer_takes_the_local_issuer() {
        let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let local = BTreeMap::from([
            ("JwtIssuer".to_string(), "http://127.0.0.1:3000/_local/oidc".to_string()),
            ("JwtAudience".to_string(), "tributary-console,tributary-cli".to_string()),
        ]);
        let authorizer = load_with(&template, &local).unwrap().jwt_authorizer.unwrap();
        assert_eq!(authorizer.issuer, "http://127.0.0.1:3000/_local/oidc");
        assert_eq!(authorizer.audience, ["tributary-console", "tributary-cli"]);
        // Without an issuer the template makes its own user pool and app clients.
        let deployed = load(&template).unwrap().jwt_authorizer.unwrap();
        assert_eq!(deployed.issuer, "https://cognito-idp.us-east-1.amazonaws.com/local-UserPool");
        assert_eq!(deployed.audience, ["local-ConsoleClient", "local-CliClient"]);
    }

    #[test]
    fn given_authorization_scopes_when_loaded_then_routes_take_their_own_or_the_authorizers() {
        let folder = std::env::temp_dir().join(format!("tributary-template-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("template.yaml");
        std::fs::write(
            &path,
            r#"
Parameters:
  Issuer: {Type: String, Default: ""}
Conditions:
  OwnPool: !Equals [!Ref Issuer, ""]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            AuthorizationScopes: [streams/read]
            JwtConfiguration:
              issuer: !If [OwnPool, "https://pool", !Ref Issuer]
              audience: [a]
  Pool:
    Type: AWS::Serverless::Function
    Condition: OwnPool
    Properties: {FunctionName: only-with-a-pool}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: fn
      Events:
        Read: {Type: HttpApi, Properties: {Path: /r, Method: GET}}
        Write: {Type: HttpApi, Properties: {Path: /w, Method: POST, Auth: {AuthorizationScopes: [streams/write]}}}
        Open: {Type: HttpApi, Properties: {Path: /o, Method: GET, Auth: {Authorizer: NONE}}}
"#,
        )
        .unwrap();
        let wiring = load_with(&path, &BTreeMap::from([("Issuer".to_string(), "http://issuer".to_string())])).unwrap();
        assert_eq!(wiring.jwt_authorizer.as_ref().unwrap().issuer, "http://issuer");
        assert_eq!(wiring.functions.len(), 1, "the conditional function is not created");
        let scopes = |path: &str| wiring.functions[0].http_routes.iter().find(|r| r.path == path).unwrap().scopes.clone();
        assert_eq!(scopes("/r"), ["streams/read"]);
        assert_eq!(scopes("/w"), ["streams/write"]);
        assert!(scopes("/o").is_empty());
        assert_eq!(load(&path).unwrap().jwt_authorizer.unwrap().issuer, "https://pool");
        std::fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn the_api_function_knows_every_state_machine() {
        let wiring = wiring();
        let api = wiring.functions.iter().find(|f| f.name == "tributary-api").unwrap();
        assert_eq!(api.environment["CREATE_STREAM_STATE_MACHINE_ARN"], state_machine_arn("tributary-create-stream"));
        assert_eq!(api.environment["TABLE_NAME"], "tributary");
    }
}
