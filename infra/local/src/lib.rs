//! tributary-local: the whole Tributary system on one machine. Only endpoints differ
//! from AWS: the handler binaries, state machines and table come from the same files
//! (`infra/template.yaml`, `statemachines/`).
//!
//! moto ([`moto`]) serves most of AWS; what it lacks, this crate supplies as AWS does it:
//! running functions ([`lambda`], [`functions`]), API Gateway ([`apigw`]) with its JWT
//! authorizer ([`jwt_authorizer`]) and a sign-in standing in for Cognito's ([`oidc`]), the
//! console's hosting as CloudFront and S3 give it ([`console`]), Firehose
//! delivery ([`firehose`]), CloudWatch metrics from services ([`metrics`]), EventBridge
//! rules with function targets ([`eventbridge`]) and event sources ([`triggers`]), all
//! behind one endpoint ([`endpoint`]); wired from the template ([`template`],
//! [`bootstrap`]).

pub mod apigw;
pub mod aws_wire;
pub mod bootstrap;
pub mod console;
pub mod endpoint;
pub mod eventbridge;
pub mod faults;
pub mod firehose;
pub mod functions;
pub mod jwt_authorizer;
pub mod lambda;
pub mod metrics;
pub mod moto;
pub mod moto_client;
pub mod oidc;
pub mod producer_gate;
pub mod template;
pub mod triggers;
