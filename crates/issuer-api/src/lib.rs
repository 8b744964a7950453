//! The Tessera issuer's HTTP API (`/v1`) as data: the JSON bodies, the problem types, and
//! what a wallet signs to prove it holds a key or a credential.
//!
//! Shared by the issuer service and the wallet so the two cannot drift apart. It must never
//! do I/O, hold keys or log: it is types and pure functions.

pub mod b64;
pub mod batch;
pub mod binding;
pub mod challenge;
pub mod ids;
pub mod names;
pub mod problem;
pub mod signed;
pub mod tpm;
pub mod types;

pub use batch::{BatchKey, BatchKeys};
pub use binding::{
    BindingError, DeviceKeyProof, HolderAuthPurpose, holder_auth_nonce, pop_message,
};
pub use problem::{Problem, ProblemType};
pub use types::*;
