//! One-to-one comparison of a few live frames with a reference photo: the front desk's
//! check that the guest in front of the camera is the person the registry photo shows
//! ("人证核验"). The issuer's enrolment decision is stricter (active liveness against its
//! own challenge, `analysis::check_answer`); here the clerk watches the guest, so the
//! check only refuses frames that are all the same picture.
//!
//! Frames and templates live only in the caller's memory and are dropped when it returns.

use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::{FaceAnalyzer, FaceError};
use crate::frame::Frame;
use crate::models::ModelError;
use crate::quality::Guidance;
use crate::template::{MATCH_THRESHOLD, Template};

/// Fewest frames a comparison accepts: a still picture is told apart only by change.
pub const MIN_FRAMES: usize = 2;
/// Most frames a comparison accepts.
pub const MAX_FRAMES: usize = 8;
/// Fewest frames that must pass the quality gates for a decision.
pub const MIN_USABLE: usize = 2;
/// Pictures are reduced to at most this many pixels on their long side before any model
/// sees them: a face fit to be compared fills a good part of the picture, and detection
/// costs grow with the picture (640×480: 18 ms; 1280×720: 68 ms).
pub const WORKING_SIDE: u32 = 640;
/// Below this mean absolute luma difference (0..255) between every two consecutive frames,
/// the frames are one still picture sent several times. A live camera's sensor noise alone
/// is well above it (about 1–3 levels); re-encoding one picture is not.
pub const STILL_DIFFERENCE: f32 = 0.5;

/// Why no decision could be made, in words the desk turns into its languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unchecked {
    /// No frame showed a face.
    NoFace,
    /// More than one face on the frames.
    MultipleFaces,
    /// The face is too small: the guest should come closer.
    TooFar,
    /// The face fills the frame.
    TooClose,
    /// The face is not in the middle of the picture.
    OffCentre,
    /// Too dark.
    TooDark,
    /// Too bright.
    TooBright,
    /// Blurry.
    Blurry,
    /// The guest is not facing the camera.
    TurnedAway,
    /// Every frame is the same picture.
    StillPicture,
    /// The reference photo shows no single face.
    ReferenceUnusable,
}

impl From<Guidance> for Unchecked {
    fn from(g: Guidance) -> Unchecked {
        match g {
            Guidance::NoFace => Unchecked::NoFace,
            Guidance::MultipleFaces => Unchecked::MultipleFaces,
            Guidance::TooFar => Unchecked::TooFar,
            Guidance::TooClose => Unchecked::TooClose,
            Guidance::OffCentre => Unchecked::OffCentre,
            Guidance::TooDark => Unchecked::TooDark,
            Guidance::TooBright => Unchecked::TooBright,
            Guidance::Blurry => Unchecked::Blurry,
            Guidance::TurnedAway => Unchecked::TurnedAway,
        }
    }
}

impl Unchecked {
    /// A sentence for logs of the operator and clients without their own words.
    pub fn describe(self) -> &'static str {
        match self {
            Unchecked::NoFace => "no face was found: the guest should look at the camera",
            Unchecked::MultipleFaces => {
                "more than one face was found: only the guest may be in the picture"
            }
            Unchecked::TooFar => "the face is too small: the guest should come closer",
            Unchecked::TooClose => "the face is too close: the guest should move back",
            Unchecked::OffCentre => "the face is not in the middle of the picture",
            Unchecked::TooDark => "the picture is too dark",
            Unchecked::TooBright => "the picture is too bright",
            Unchecked::Blurry => "the picture is blurred: the guest should hold still",
            Unchecked::TurnedAway => "the guest is not facing the camera",
            Unchecked::StillPicture => {
                "every frame is the same picture: a still image, not a live camera"
            }
            Unchecked::ReferenceUnusable => "the registry photo shows no single usable face",
        }
    }
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The live face matches the reference.
    SamePerson,
    /// It does not.
    NotSamePerson,
    /// No decision: the frames or the reference are not good enough.
    CouldNotCheck,
}

/// An outcome with what it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Comparison {
    /// The outcome.
    pub outcome: Outcome,
    /// Why it could not be checked.
    pub reason: Option<Unchecked>,
    /// The similarity decided on (the lower median over usable frames), when there is one.
    pub similarity: Option<f32>,
    /// How many frames passed the quality gates.
    pub usable_frames: usize,
}

impl Comparison {
    fn unchecked(reason: Unchecked, usable_frames: usize) -> Comparison {
        Comparison {
            outcome: Outcome::CouldNotCheck,
            reason: Some(reason),
            similarity: None,
            usable_frames,
        }
    }
}

/// Why a comparison could not run at all (the caller's fault or the models').
#[derive(Debug, thiserror::Error)]
pub enum ComparisonError {
    /// Fewer or more frames than accepted.
    #[error("send between {MIN_FRAMES} and {MAX_FRAMES} frames; {0} were sent")]
    FrameCount(usize),
    /// A model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Compares `frames` of a live person with `reference`.
///
/// 1. The frame count is checked.
/// 2. Frames that do not change at all are one still picture: no decision.
/// 3. The reference must show exactly one face; its template is made.
/// 4. Each frame passes the quality gates or names what is wrong with it.
/// 5. With fewer than [`MIN_USABLE`] good frames, the most frequent problem is the answer.
/// 6. The lower median of the good frames' similarities decides, at the matcher's
///    threshold: one lucky frame cannot carry a stranger.
///
/// Steps 3 and 4 run at once, spread over the cores.
pub fn compare(
    faces: &FaceAnalyzer,
    reference: &Frame,
    frames: &[Frame],
) -> Result<Comparison, ComparisonError> {
    check_frames(frames)?;
    if let Some(still) = still_picture(frames) {
        return Ok(still);
    }
    let (reference, judged) = rayon::join(
        || reference_template(faces, reference),
        || judge_frames(faces, frames),
    );
    match reference? {
        Ok(template) => decide(&template, judged?),
        Err(unchecked) => Ok(Comparison::unchecked(unchecked, 0)),
    }
}

/// Step 3 alone, ahead of the frames (the desk prepares it while the camera captures).
pub fn reference_template(
    faces: &FaceAnalyzer,
    reference: &Frame,
) -> Result<Result<Template, Unchecked>, ModelError> {
    match faces.template(&working_size(reference)) {
        Ok(face) => Ok(Ok(face.template)),
        Err(FaceError::Model(e)) => Err(e),
        Err(_) => Ok(Err(Unchecked::ReferenceUnusable)),
    }
}

/// [`compare`] with the reference's template made beforehand ([`reference_template`]).
pub fn compare_with_template(
    faces: &FaceAnalyzer,
    reference: &Template,
    frames: &[Frame],
) -> Result<Comparison, ComparisonError> {
    check_frames(frames)?;
    if let Some(still) = still_picture(frames) {
        return Ok(still);
    }
    decide(reference, judge_frames(faces, frames)?)
}

// 1.
fn check_frames(frames: &[Frame]) -> Result<(), ComparisonError> {
    if (MIN_FRAMES..=MAX_FRAMES).contains(&frames.len()) {
        Ok(())
    } else {
        Err(ComparisonError::FrameCount(frames.len()))
    }
}

// 2.
fn still_picture(frames: &[Frame]) -> Option<Comparison> {
    frames
        .windows(2)
        .all(|w| unchanged(&w[0], &w[1]))
        .then(|| Comparison::unchecked(Unchecked::StillPicture, 0))
}

// 4.
fn judge_frames(
    faces: &FaceAnalyzer,
    frames: &[Frame],
) -> Result<Vec<Result<Template, Unchecked>>, ModelError> {
    frames
        .par_iter()
        .map(|frame| judge_frame(faces, &working_size(frame)))
        .collect()
}

// 5. and 6.
fn decide(
    reference: &Template,
    judged: Vec<Result<Template, Unchecked>>,
) -> Result<Comparison, ComparisonError> {
    let mut similarities = Vec::with_capacity(judged.len());
    let mut problems: Vec<Unchecked> = Vec::new();
    for j in judged {
        match j {
            Ok(template) => similarities.push(template.similarity(reference)),
            Err(problem) => problems.push(problem),
        }
    }
    if similarities.len() < MIN_USABLE {
        return Ok(Comparison::unchecked(
            most_frequent(&problems).unwrap_or(Unchecked::NoFace),
            similarities.len(),
        ));
    }
    similarities.sort_by(f32::total_cmp);
    let similarity = similarities[(similarities.len() - 1) / 2];
    Ok(Comparison {
        outcome: if similarity >= MATCH_THRESHOLD {
            Outcome::SamePerson
        } else {
            Outcome::NotSamePerson
        },
        reason: None,
        similarity: Some(similarity),
        usable_frames: similarities.len(),
    })
}

/// A frame's template, or what keeps it from being compared.
fn judge_frame(
    faces: &FaceAnalyzer,
    frame: &Frame,
) -> Result<Result<Template, Unchecked>, ModelError> {
    let (detections, quality) = faces.quality(frame)?;
    Ok(match (quality.guidance.first(), detections.as_slice()) {
        (None, [one]) => match faces.template_of(frame, *one) {
            Ok(face) => Ok(face.template),
            Err(FaceError::Model(e)) => return Err(e),
            Err(_) => Err(Unchecked::TurnedAway),
        },
        (Some(g), _) => Err((*g).into()),
        (None, _) => Err(Unchecked::NoFace),
    })
}

/// `frame` reduced to [`WORKING_SIDE`] on its long side (a copy only when it is larger).
fn working_size(frame: &Frame) -> std::borrow::Cow<'_, Frame> {
    let long = frame.width.max(frame.height);
    if long <= WORKING_SIDE {
        return std::borrow::Cow::Borrowed(frame);
    }
    let Some(img) = frame.to_rgb_image() else {
        return std::borrow::Cow::Borrowed(frame);
    };
    let scale = WORKING_SIDE as f32 / long as f32;
    let (w, h) = (
        ((frame.width as f32 * scale).round() as u32).max(1),
        ((frame.height as f32 * scale).round() as u32).max(1),
    );
    std::borrow::Cow::Owned(Frame::from_rgb_image(image::imageops::resize(
        &img,
        w,
        h,
        image::imageops::FilterType::Triangle,
    )))
}

/// Whether two frames are the same picture (see [`STILL_DIFFERENCE`]).
fn unchanged(a: &Frame, b: &Frame) -> bool {
    if (a.width, a.height) != (b.width, b.height) {
        return false;
    }
    let (la, lb) = (a.luma(), b.luma());
    if la.is_empty() {
        return true;
    }
    let total: u64 = la
        .iter()
        .zip(&lb)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    (total as f64 / la.len() as f64) < f64::from(STILL_DIFFERENCE)
}

/// The problem named most often (the first of equals, in order of appearance).
fn most_frequent(problems: &[Unchecked]) -> Option<Unchecked> {
    let mut best: Option<(Unchecked, usize)> = None;
    for p in problems {
        let n = problems.iter().filter(|q| *q == p).count();
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((*p, n));
        }
    }
    best.map(|(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(width: u32, height: u32, level: u8) -> Frame {
        Frame::from_rgb_image(image::RgbImage::from_pixel(
            width,
            height,
            image::Rgb([level; 3]),
        ))
    }

    #[test]
    fn identical_frames_are_a_still_picture_and_noise_is_not() {
        assert!(unchanged(&flat(64, 64, 100), &flat(64, 64, 100)));
        assert!(!unchanged(&flat(64, 64, 100), &flat(64, 64, 102)));
        assert!(!unchanged(&flat(64, 64, 100), &flat(64, 32, 100)));
    }

    #[test]
    fn the_most_frequent_problem_is_named() {
        use Unchecked::*;
        assert_eq!(most_frequent(&[TooDark, NoFace, NoFace]), Some(NoFace));
        assert_eq!(most_frequent(&[TooDark, NoFace]), Some(TooDark));
        assert_eq!(most_frequent(&[]), None);
    }
}
