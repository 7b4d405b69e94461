//! Every route of the API in one table: its method, its path template and its operation,
//! named as the OpenAPI document (`openapi.yaml`) names it. The router dispatches on the
//! table, and a test holds the table and the document to the same set.

use http::Method;

/// An operation of the API; its name is the document's `operationId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationId {
    ListStreams,
    CreateStream,
    GetStream,
    UpdateStream,
    DeleteStream,
    GetStreamCredentials,
    GetStreamStatus,
    GetStreamCost,
    GetStreamMetrics,
    GetStreamRecords,
    RepairStream,
    RotateStreamCredentials,
    ListProducerKeys,
    RevokeProducerKey,
    ListTransforms,
    CreateTransform,
    GetTransform,
    GetTransformCode,
    UpdateTransform,
    DeleteTransform,
    TestTransform,
    RepairTransform,
    ListConsumers,
    CreateConsumer,
    GetConsumer,
    UpdateConsumer,
    DeleteConsumer,
    GetConsumerStatus,
    GetConsumerMetrics,
    ListFailedRecords,
    RedriveFailedRecords,
    ReplayConsumer,
    RepairConsumer,
    ListDatasets,
    CreateDataset,
    GetDataset,
    UpdateDataset,
    DeleteDataset,
    RepairDataset,
    ListJobs,
    GetJob,
    GetQuotas,
    GetOpenApiDocument,
}

pub struct Route {
    pub method: Method,
    /// `/streams/{StreamId}`: literal segments and `{Name}` parameters.
    pub path: &'static str,
    pub operation: OperationId,
}

macro_rules! routes {
    ($($method:ident $path:literal => $operation:ident),* $(,)?) => {
        &[$(Route { method: Method::$method, path: $path, operation: OperationId::$operation }),*]
    };
}

pub static ROUTES: &[Route] = routes![
    GET "/streams" => ListStreams,
    POST "/streams" => CreateStream,
    GET "/streams/{StreamId}" => GetStream,
    PATCH "/streams/{StreamId}" => UpdateStream,
    DELETE "/streams/{StreamId}" => DeleteStream,
    GET "/streams/{StreamId}/credentials" => GetStreamCredentials,
    GET "/streams/{StreamId}/status" => GetStreamStatus,
    GET "/streams/{StreamId}/cost" => GetStreamCost,
    GET "/streams/{StreamId}/metrics" => GetStreamMetrics,
    GET "/streams/{StreamId}/records" => GetStreamRecords,
    POST "/streams/{StreamId}/repair" => RepairStream,
    POST "/streams/{StreamId}/credentials/rotate" => RotateStreamCredentials,
    GET "/streams/{StreamId}/credentials/keys" => ListProducerKeys,
    DELETE "/streams/{StreamId}/credentials/keys/{AccessKeyId}" => RevokeProducerKey,
    GET "/streams/{StreamId}/transforms" => ListTransforms,
    POST "/streams/{StreamId}/transforms" => CreateTransform,
    GET "/streams/{StreamId}/transforms/{TransformId}" => GetTransform,
    GET "/streams/{StreamId}/transforms/{TransformId}/code" => GetTransformCode,
    PATCH "/streams/{StreamId}/transforms/{TransformId}" => UpdateTransform,
    DELETE "/streams/{StreamId}/transforms/{TransformId}" => DeleteTransform,
    POST "/streams/{StreamId}/transforms/{TransformId}/test" => TestTransform,
    POST "/streams/{StreamId}/transforms/{TransformId}/repair" => RepairTransform,
    GET "/streams/{StreamId}/consumers" => ListConsumers,
    POST "/streams/{StreamId}/consumers" => CreateConsumer,
    GET "/streams/{StreamId}/consumers/{ConsumerId}" => GetConsumer,
    PATCH "/streams/{StreamId}/consumers/{ConsumerId}" => UpdateConsumer,
    DELETE "/streams/{StreamId}/consumers/{ConsumerId}" => DeleteConsumer,
    GET "/streams/{StreamId}/consumers/{ConsumerId}/status" => GetConsumerStatus,
    GET "/streams/{StreamId}/consumers/{ConsumerId}/metrics" => GetConsumerMetrics,
    GET "/streams/{StreamId}/consumers/{ConsumerId}/failed-records" => ListFailedRecords,
    POST "/streams/{StreamId}/consumers/{ConsumerId}/redrive" => RedriveFailedRecords,
    POST "/streams/{StreamId}/consumers/{ConsumerId}/replay" => ReplayConsumer,
    POST "/streams/{StreamId}/consumers/{ConsumerId}/repair" => RepairConsumer,
    GET "/datasets" => ListDatasets,
    POST "/datasets" => CreateDataset,
    GET "/datasets/{DatasetId}" => GetDataset,
    PATCH "/datasets/{DatasetId}" => UpdateDataset,
    DELETE "/datasets/{DatasetId}" => DeleteDataset,
    POST "/datasets/{DatasetId}/repair" => RepairDataset,
    GET "/jobs" => ListJobs,
    GET "/jobs/{JobId}" => GetJob,
    GET "/quotas" => GetQuotas,
    GET "/openapi.json" => GetOpenApiDocument,
];

/// Why a request matched no route.
#[derive(Debug, PartialEq, Eq)]
pub enum NoRoute {
    /// No route has this path.
    NotFound,
    /// Some route has this path, none this method: the methods it has.
    MethodNotAllowed(Vec<Method>),
}

/// The route a request takes, and its path parameters in the template's order.
pub fn find<'p>(routes: &[Route], method: &Method, path: &'p str) -> Result<(OperationId, Vec<&'p str>), NoRoute> {
    // Only the leading slash goes: `/streams/` is another path than `/streams` (an empty
    // last segment), as API Gateway routes them.
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let mut allowed = Vec::new();
    for route in routes {
        if let Some(parameters) = match_path(route.path, &segments) {
            if route.method == method {
                return Ok((route.operation, parameters));
            }
            allowed.push(route.method.clone());
        }
    }
    Err(if allowed.is_empty() { NoRoute::NotFound } else { NoRoute::MethodNotAllowed(allowed) })
}

fn match_path<'p>(template: &str, segments: &[&'p str]) -> Option<Vec<&'p str>> {
    let pattern: Vec<&str> = template.trim_matches('/').split('/').collect();
    if pattern.len() != segments.len() {
        return None;
    }
    let mut parameters = Vec::new();
    for (expected, actual) in pattern.iter().zip(segments) {
        if expected.starts_with('{') {
            if actual.is_empty() {
                return None;
            }
            parameters.push(*actual);
        } else if expected != actual {
            return None;
        }
    }
    Some(parameters)
}

/// The OpenAPI document, as written (YAML).
pub const OPENAPI_YAML: &str = include_str!("openapi.yaml");

/// The document as JSON (a unit test parses it, so this cannot fail at run time).
pub fn openapi_document() -> serde_json::Value {
    let yaml: serde_yaml::Value = serde_yaml::from_str(OPENAPI_YAML).expect("openapi.yaml is YAML");
    serde_json::to_value(yaml).expect("openapi.yaml maps to JSON")
}

/// What the table and a document disagree on: `(method, path, operationId)` of routes the
/// document lacks or names otherwise, then operations the document has and the table lacks.
pub fn disagreements(routes: &[Route], document: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let described = |method: &Method, path: &str| document["paths"][path][method.as_str().to_ascii_lowercase()]["operationId"].as_str().map(str::to_string);
    let undocumented = routes
        .iter()
        .filter(|r| described(&r.method, r.path).as_deref() != Some(&format!("{:?}", r.operation)))
        .map(|r| format!("{} {} ({:?})", r.method, r.path, r.operation))
        .collect();
    let mut unrouted = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else { continue };
            if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"].contains(&method.as_str()) {
                continue; // `parameters`, `summary`… of the path item
            }
            if !routes.iter().any(|r| r.method == method && r.path == path) {
                unrouted.push(format!("{method} {path} ({})", operation["operationId"].as_str().unwrap_or("no operationId")));
            }
        }
    }
    (undocumented, unrouted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> serde_json::Value {
        openapi_document()
    }

    #[test]
    fn given_the_router_when_compared_with_the_document_then_they_are_the_same_set() {
        let (undocumented, unrouted) = disagreements(ROUTES, &document());
        assert!(undocumented.is_empty(), "routes the document does not describe: {undocumented:?}");
        assert!(unrouted.is_empty(), "operations the router does not have: {unrouted:?}");
    }

    #[test]
    fn given_a_route_added_without_its_document_entry_when_compared_then_it_is_reported() {
        let mut routes: Vec<Route> = ROUTES.iter().map(|r| Route { method: r.method.clone(), path: r.path, operation: r.operation }).collect();
        routes.push(Route { method: Method::POST, path: "/jobs/{JobId}/cancel", operation: OperationId::GetJob });
        let (undocumented, unrouted) = disagreements(&routes, &document());
        assert_eq!(undocumented, vec!["POST /jobs/{JobId}/cancel (GetJob)".to_string()]);
        assert!(unrouted.is_empty());
    }

    #[test]
    fn given_a_document_operation_without_its_route_when_compared_then_it_is_reported() {
        let routes: Vec<Route> = ROUTES.iter().filter(|r| r.operation != OperationId::GetJob).map(|r| Route { method: r.method.clone(), path: r.path, operation: r.operation }).collect();
        let (undocumented, unrouted) = disagreements(&routes, &document());
        assert!(undocumented.is_empty());
        assert_eq!(unrouted, vec!["GET /jobs/{JobId} (GetJob)".to_string()]);
    }

    #[test]
    fn given_paths_when_routed_then_parameters_come_in_order_and_misses_say_why() {
        assert_eq!(find(ROUTES, &Method::GET, "/streams/s1/consumers/c1/status"), Ok((OperationId::GetConsumerStatus, vec!["s1", "c1"])));
        assert_eq!(find(ROUTES, &Method::DELETE, "/streams/s1/credentials/keys/AKIA1"), Ok((OperationId::RevokeProducerKey, vec!["s1", "AKIA1"])));
        assert_eq!(find(ROUTES, &Method::PUT, "/streams/s1"), Err(NoRoute::MethodNotAllowed(vec![Method::GET, Method::PATCH, Method::DELETE])));
        assert_eq!(find(ROUTES, &Method::GET, "/streams/s1/nothing"), Err(NoRoute::NotFound));
        assert_eq!(find(ROUTES, &Method::GET, "/streams//status"), Err(NoRoute::NotFound));
        assert_eq!(find(ROUTES, &Method::GET, "/streams/"), Err(NoRoute::NotFound));
        assert_eq!(find(ROUTES, &Method::GET, "/streams/s1/"), Err(NoRoute::NotFound));
        assert_eq!(find(ROUTES, &Method::GET, "/streams"), Ok((OperationId::ListStreams, vec![])));
    }
}
