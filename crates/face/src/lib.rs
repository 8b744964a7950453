//! # tessera-face
//!
//! The face pipeline of DESIGN §5, used by the wallet (guided capture, liveness, the on-device
//! match for the upgraded tier) and by the issuer (re-checking liveness, matching against the
//! registry photo): frame sources (camera, recorded frames, a still photo), YuNet detection
//! with quality gates, active liveness (head turns, blinks), alignment and SFace matching.
//!
//! It must never write a face image anywhere, send one over a network, or log pixels,
//! landmarks or embeddings: biometric data stays in memory and is dropped after use. Models
//! are compiled into the binary; nothing is downloaded.

pub mod align;
pub mod analysis;
pub mod answer;
#[cfg(feature = "camera")]
pub mod camera;
pub mod comparison;
pub mod frame;
pub mod liveness;
pub mod models;
pub mod quality;
pub mod source;
pub mod template;

pub use frame::{Detection, Frame, Point};
