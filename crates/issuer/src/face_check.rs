//! The issuer's face decision on an uploaded answer: liveness re-checked against the
//! issuer's own challenge, then the live face matched to the registry photo. Called on a
//! blocking thread; the work spreads over rayon's pool; the frames are dropped when it
//! returns, whatever the outcome.

use tessera_face::analysis::{EnrolledFace, FaceAnalyzer, FaceError};
use tessera_face::liveness::{Action, Challenge};
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

/// Checks frame sizes without decoding the pixels: the count, each side, and the pixels of
/// the whole answer (which is decoded at once: a few small, highly compressed pictures of
/// huge size must not cost the server gigabytes).
pub fn check_frames(
    frames: &[Vec<u8>],
    max_frames: usize,
    max_side: u32,
    max_pixels: u64,
) -> Result<(), Problem> {
    if frames.is_empty() || frames.len() > max_frames {
        return Err(Problem::new(
            ProblemType::Malformed,
            format!(
                "send between 1 and {max_frames} frames; {} were sent",
                frames.len()
            ),
        ));
    }
    let mut pixels = 0u64;
    for (n, bytes) in frames.iter().enumerate() {
        let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|_| unusable(n, "cannot be read"))?;
        if !matches!(
            reader.format(),
            Some(image::ImageFormat::Jpeg | image::ImageFormat::Png)
        ) {
            return Err(unusable(n, "is not a JPEG or PNG image"));
        }
        let (w, h) = reader
            .into_dimensions()
            .map_err(|_| unusable(n, "is not a readable JPEG or PNG image"))?;
        if w > max_side || h > max_side || w < 64 || h < 64 {
            return Err(unusable(
                n,
                &format!("is {w}×{h}; frames must be 64 to {max_side} pixels per side"),
            ));
        }
        pixels += u64::from(w) * u64::from(h);
    }
    if pixels > max_pixels {
        return Err(Problem::new(
            ProblemType::PayloadTooLarge,
            format!(
                "the frames add up to {:.1} megapixels; at most {:.1} are accepted: send fewer or smaller frames",
                pixels as f64 / 1e6,
                max_pixels as f64 / 1e6
            ),
        ));
    }
    Ok(())
}

fn unusable(n: usize, what: &str) -> Problem {
    Problem::new(ProblemType::FaceNotUsable, format!("frame {n} {what}"))
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
