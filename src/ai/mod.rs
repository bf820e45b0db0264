//! The AI relay part: the request-body check against the model catalog, token usage from
//! answers, usage and cost metering, and OpenAI-style error bodies.

pub mod body_check;
pub mod catalog;
pub mod meter;
pub mod openai_error;
mod raw_field;
pub mod traffic;
pub mod usage;
