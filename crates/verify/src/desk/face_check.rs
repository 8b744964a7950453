//! The desk's check that the guest is the holder ("人证核验"): a few frames of the guest
//! from the desk camera are compared one to one with the registry portrait of a fresh
//! upgraded verification (fetched and checked against the credential's `photo_sha256` as
//! for showing it). Only the outcome and the similarity are kept, on the pending
//! verification, for the check-in record; frames and portrait are dropped as soon as the
//! answer is made, and never written or logged.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use serde::{Deserialize, Serialize};
use tessera_face::analysis::FaceAnalyzer;
use tessera_face::comparison::{self, Comparison, Outcome, Unchecked};
use tessera_face::source::{EncodedFramesError, check_encoded_frames, decode_image_bytes};
use tessera_face::template::Template;

use super::Desk;
use super::portrait;
use super::problem::Problem;
use super::request::{AppState, csrf, json, staff, unknown_verification};

/// Largest side of a frame (a 1080p webcam frame fits).
pub const MAX_FRAME_SIDE: u32 = 1920;
/// Largest sum of pixels over the frames of one check (eight 1080p frames).
pub const MAX_PIXELS: u64 = 8 * 1920 * 1080;
/// The request body: eight frames of base64 JPEG with room to spare.
pub const BODY_LIMIT: usize = 12 * 1024 * 1024;

/// What is kept of a check: the outcome and the similarity, never a picture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceCheckRecord {
    /// The outcome.
    pub outcome: Outcome,
    /// The similarity it rests on, when there was a decision.
    pub similarity: Option<f32>,
    /// When, by the desk's clock.
    pub checked_at: u64,
}

impl FaceCheckRecord {
    /// The outcome's name in the register and the CSV export.
    pub fn outcome_name(&self) -> &'static str {
        outcome_name(self.outcome)
    }
}

/// The outcome's stable name.
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::SamePerson => "same_person",
        Outcome::NotSamePerson => "not_same_person",
        Outcome::CouldNotCheck => "could_not_check",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaceCheckRequest {
    /// JPEG or PNG frames, base64 (standard alphabet).
    frames: Vec<String>,
}

/// The answer of `POST /api/face-check/{verification}`.
#[derive(Debug, Serialize)]
pub struct FaceCheckAnswer {
    /// `same_person`, `not_same_person` or `could_not_check`.
    pub outcome: Outcome,
    /// Why it could not be checked.
    pub reason: Option<Unchecked>,
    /// In English, for clients without their own words.
    pub message: String,
    /// The similarity decided on (0..1; the match threshold is 0.363).
    pub similarity: Option<f32>,
    /// When, by the desk's clock (Unix seconds).
    pub checked_at: u64,
    /// Time from the frames' arrival to the outcome, in milliseconds.
    pub ms: f64,
}

/// Loads the face models once (at start, in the background; the first check waits).
pub async fn models(desk: &Desk) -> Result<Arc<FaceAnalyzer>, Problem> {
    desk.faces
        .get_or_try_init(|| async {
            tokio::task::spawn_blocking(FaceAnalyzer::load)
                .await
                .map_err(Problem::internal)?
                .map(Arc::new)
                .map_err(Problem::internal)
        })
        .await
        .cloned()
}

/// What the frames are compared with.
enum Reference {
    /// The template `prepare` made.
    Prepared(Box<Template>),
    /// The portrait, fetched for this check.
    Portrait(portrait::Portrait),
}

/// `POST /api/face-check/{verification}`.
///
/// 1. CSRF and the staff session, as every staff action.
/// 2. The frames: between 2 and 8, base64 of JPEG or PNG, bounded in size and pixels
///    before any is decoded.
/// 3. The verification must be pending (valid, upgraded, recent).
/// 4. The portrait, checked against the credential's digest (`portrait::fetch`), or the
///    template made from it by [`prepare`] while the camera captured (taken: one use).
/// 5. The comparison on a blocking thread, a few at a time; frames and portrait are
///    dropped with it.
/// 6. The outcome is kept on the pending verification for check-in, and answered.
pub(super) async fn face_check(
    State(desk): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<FaceCheckAnswer>, Problem> {
    // 1.
    csrf(&headers)?;
    staff(&desk, &headers).await?;
    // 2.
    let req: FaceCheckRequest = json(b)?;
    let started = Instant::now();
    let frames = decode_frames(req.frames)?;
    // 3.
    if !desk.is_pending(&id) {
        return Err(unknown_verification());
    }
    // 4. (unless its template was prepared while the camera captured)
    let reference = match desk.take_reference(&id) {
        Some(template) => Reference::Prepared(Box::new(template)),
        None => Reference::Portrait(portrait::fetch(&desk, &id).await?),
    };
    // 5.
    let faces = models(&desk).await?;
    let _turn = desk.face_turns.acquire().await.map_err(Problem::internal)?;
    let comparison = tokio::task::spawn_blocking(move || match reference {
        Reference::Prepared(template) => judge_prepared(&faces, &template, frames),
        Reference::Portrait(portrait) => judge(&faces, &portrait.bytes, frames),
    })
    .await
    .map_err(Problem::internal)??;
    // 6.
    let checked_at = desk.now();
    let record = FaceCheckRecord {
        outcome: comparison.outcome,
        similarity: comparison.similarity,
        checked_at,
    };
    if !desk.record_face_check(&id, record) {
        return Err(unknown_verification());
    }
    // The outcome only: nothing about the guest.
    tracing::info!(
        event = "face_check",
        outcome = outcome_name(comparison.outcome),
        "face checked"
    );
    Ok(axum::Json(FaceCheckAnswer {
        outcome: comparison.outcome,
        reason: comparison.reason,
        message: message(&comparison),
        similarity: comparison.similarity,
        checked_at,
        ms: started.elapsed().as_secs_f64() * 1e3,
    }))
}

/// `POST /api/face-check/{verification}/reference`: fetches the portrait (checked against
/// the credential's digest) and makes its template while the desk camera captures the
/// guest, so that the check itself, once the frames arrive, has only the frames to judge.
/// The template is kept in memory on the verification for its next face check, the picture
/// is dropped here. 204 when ready; a portrait with no usable face keeps nothing, and the
/// check then says so.
pub(super) async fn prepare(
    State(desk): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    csrf(&headers)?;
    staff(&desk, &headers).await?;
    if !desk.is_pending(&id) {
        return Err(unknown_verification());
    }
    let portrait = portrait::fetch(&desk, &id).await?;
    let faces = models(&desk).await?;
    let _turn = desk.face_turns.acquire().await.map_err(Problem::internal)?;
    let template = tokio::task::spawn_blocking(move || {
        comparison::reference_template(&faces, &decode_portrait(&portrait.bytes)?)
            .map_err(Problem::internal)
    })
    .await
    .map_err(Problem::internal)??;
    if let Ok(template) = template
        && !desk.keep_reference(&id, template)
    {
        return Err(unknown_verification());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Decodes the frames and compares them with a template prepared beforehand: what a face
/// check costs once [`prepare`] has run.
pub fn judge_prepared(
    faces: &FaceAnalyzer,
    reference: &Template,
    frames: Vec<Vec<u8>>,
) -> Result<Comparison, Problem> {
    let frames = decode_all(frames)?;
    comparison::compare_with_template(faces, reference, &frames).map_err(comparison_error)
}

fn decode_all(frames: Vec<Vec<u8>>) -> Result<Vec<tessera_face::Frame>, Problem> {
    use rayon::prelude::*;
    frames
        .par_iter()
        .enumerate()
        .map(|(n, bytes)| {
            decode_image_bytes(bytes).map_err(|e| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unreadable_image",
                    format!("frame {n}: {e}"),
                )
            })
        })
        .collect()
}

fn comparison_error(e: comparison::ComparisonError) -> Problem {
    match e {
        comparison::ComparisonError::FrameCount(_) => bad_frames(e.to_string()),
        comparison::ComparisonError::Model(e) => Problem::internal(e),
    }
}

/// Base64 to bytes, with the size checks of `check_encoded_frames`.
pub fn decode_frames(encoded: Vec<String>) -> Result<Vec<Vec<u8>>, Problem> {
    let range = comparison::MIN_FRAMES..=comparison::MAX_FRAMES;
    if !range.contains(&encoded.len()) {
        return Err(bad_frames(format!(
            "send between {} and {} frames; {} were sent",
            range.start(),
            range.end(),
            encoded.len()
        )));
    }
    let frames = encoded
        .iter()
        .enumerate()
        .map(|(n, text)| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| bad_frames(format!("frame {n} is not base64")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    drop(encoded);
    check_encoded_frames(&frames, range, MAX_FRAME_SIDE, MAX_PIXELS).map_err(|e| match e {
        EncodedFramesError::Count { .. } => bad_frames(e.to_string()),
        EncodedFramesError::Unusable { .. } => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_an_image",
            e.to_string(),
        ),
        EncodedFramesError::WrongSize { .. } | EncodedFramesError::TooManyPixels { .. } => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
        }
    })?;
    Ok(frames)
}

fn bad_frames(detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad_frames", detail)
}

/// Decodes the portrait and the frames (all at once, over rayon's pool) and compares them:
/// what a face check costs when nothing was prepared.
pub fn judge(
    faces: &FaceAnalyzer,
    portrait: &[u8],
    frames: Vec<Vec<u8>>,
) -> Result<Comparison, Problem> {
    let (reference, frames) = rayon::join(|| decode_portrait(portrait), || decode_all(frames));
    comparison::compare(faces, &reference?, &frames?).map_err(comparison_error)
}

/// The registry photo as a frame; one that does not decode is the issuer's fault.
fn decode_portrait(bytes: &[u8]) -> Result<tessera_face::Frame, Problem> {
    decode_image_bytes(bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_GATEWAY,
            "portrait_refused",
            format!("the registry photo cannot be read: {e}"),
        )
    })
}

fn message(c: &Comparison) -> String {
    match (c.outcome, c.reason) {
        (Outcome::SamePerson, _) => "same person".into(),
        (Outcome::NotSamePerson, _) => "not the same person: check the ID by hand".into(),
        (Outcome::CouldNotCheck, Some(r)) => format!("could not check: {}", r.describe()),
        (Outcome::CouldNotCheck, None) => "could not check".into(),
    }
}
