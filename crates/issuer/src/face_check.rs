//! The issuer's face decision on an uploaded answer: liveness re-checked against the
//! issuer's own challenge, then the live face matched to the registry photo. Called on a
//! blocking thread; the work spreads over rayon's pool; the frames are dropped when it
//! returns, whatever the outcome.

use tessera_face::analysis::{EnrolledFace, FaceAnalyzer, FaceError};
use tessera_face::liveness::{Action, Challenge};
use tessera_face::source::{EncodedFramesError, check_encoded_frames};
use tessera_face::template::{MATCH_THRESHOLD, Template};
use tessera_issuer_api::{Problem, ProblemType};

/// The decision when the face is accepted.
#[derive(Debug, Clone, Copy)]
pub struct Accepted {
    /// The lower of the two similarities (first and last usable frame).
    pub similarity: f32,
    /// How many frames the decision rested on (for the audit record).
    pub frames: usize,
}

/// Parses stored action names.
pub fn parse_actions(text: &str) -> Option<Vec<Action>> {
    text.split(',')
        .map(|a| match a {
            "front" => Some(Action::Front),
            "left" => Some(Action::TurnLeft),
            "right" => Some(Action::TurnRight),
            "blink" => Some(Action::Blink),
            _ => None,
        })
        .collect()
}

/// Checks frame sizes without decoding the pixels (`source::check_encoded_frames`).
pub fn check_frames(
    frames: &[Vec<u8>],
    max_frames: usize,
    max_side: u32,
    max_pixels: u64,
) -> Result<(), Problem> {
    check_encoded_frames(frames, 1..=max_frames, max_side, max_pixels).map_err(|e| {
        let kind = match e {
            EncodedFramesError::Count { .. } => ProblemType::Malformed,
            EncodedFramesError::Unusable { .. } | EncodedFramesError::WrongSize { .. } => {
                ProblemType::FaceNotUsable
            }
            EncodedFramesError::TooManyPixels { .. } => ProblemType::PayloadTooLarge,
        };
        Problem::new(kind, e.to_string())
    })
}

/// Runs liveness and matching (all frames at once, spread over rayon's pool). `now` stamps
/// every frame: the challenge's expiry was checked on arrival and the frames carry no
/// trustworthy time of their own.
pub fn decide(
    faces: &FaceAnalyzer,
    challenge: &Challenge,
    frames: Vec<Vec<u8>>,
    reference: &Template,
    now: u64,
) -> Result<Accepted, Problem> {
    let report = faces
        .check_answer(challenge, &frames, now)
        .map_err(|e| Problem::new(ProblemType::FaceNotUsable, e.to_string()))?;
    let count = frames.len();
    drop(frames);
    if !report.verdict.passed {
        let mut p = Problem::new(
            ProblemType::LivenessFailed,
            "the frames do not show a live person doing the actions asked, in order: take a new challenge and try again",
        );
        p.extra = serde_json::to_value(&report.verdict.failures).ok();
        return Err(p);
    }
    // The face must be the registry's person on the frames that completed *front* and
    // *blink*: a live blink is something a photo cannot do, so a photo held up for *front*
    // does not carry a live stranger's answer. (A second face in any frame already failed
    // liveness.)
    let template = |t: Result<EnrolledFace, FaceError>| {
        t.map(|f| f.template)
            .map_err(|e| Problem::new(ProblemType::FaceNotUsable, e.to_string()))
    };
    let first = template(report.first)?;
    let last = template(report.last)?;
    let similarity = first.similarity(reference).min(last.similarity(reference));
    if similarity < MATCH_THRESHOLD {
        return Err(Problem::new(
            ProblemType::FaceMismatch,
            "the face does not match the registry photo for this ID number",
        ));
    }
    Ok(Accepted {
        similarity,
        frames: count,
    })
}
