//! Face templates: the SFace embedding of an aligned face, stored compactly (133 bytes) so the
//! wallet can keep one in the OS keystore, and compared by cosine similarity.

/// Embedding length (SFace).
pub const EMBEDDING_LEN: usize = 128;
/// Cosine similarity at or above which two faces are the same person: OpenCV's reference
/// value for SFace (see docs/FACE.md for the rates measured on our photos).
pub const MATCH_THRESHOLD: f32 = 0.363;
const VERSION: u8 = 1;
/// Serialised size: version, scale (f32), 128 signed bytes.
pub const TEMPLATE_BYTES: usize = 1 + 4 + EMBEDDING_LEN;

/// A face template.
#[derive(Clone, PartialEq)]
pub struct Template {
    embedding: [f32; EMBEDDING_LEN],
}

impl std::fmt::Debug for Template {
    // Never print the embedding: it is biometric data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Template(..)")
    }
}

/// Why bytes are not a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Wrong length or version.
    #[error("not a face template (version {VERSION}, {TEMPLATE_BYTES} bytes)")]
    Format,
    /// An embedding with no direction.
    #[error("the embedding is empty or not finite")]
    Degenerate,
}

impl Template {
    /// A template from an embedding (normalised to unit length).
    pub fn from_embedding(embedding: [f32; EMBEDDING_LEN]) -> Result<Template, TemplateError> {
        let norm = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
        if !norm.is_finite() || norm < 1e-6 {
            return Err(TemplateError::Degenerate);
        }
        Ok(Template {
            embedding: embedding.map(|v| v / norm),
        })
    }

    /// Cosine similarity, −1..1.
    pub fn similarity(&self, other: &Template) -> f32 {
        self.embedding
            .iter()
            .zip(&other.embedding)
            .map(|(a, b)| a * b)
            .sum()
    }

    /// True if `other` is the same person at [`MATCH_THRESHOLD`].
    pub fn matches(&self, other: &Template) -> bool {
        self.similarity(other) >= MATCH_THRESHOLD
    }

    /// 133 bytes: version 1, the f32 scale (little-endian), then each component as
    /// `round(v / scale)` in a signed byte.
    pub fn to_bytes(&self) -> Vec<u8> {
        let max = self.embedding.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = max / 127.0;
        let mut out = Vec::with_capacity(TEMPLATE_BYTES);
        out.push(VERSION);
        out.extend_from_slice(&scale.to_le_bytes());
        out.extend(
            self.embedding
                .iter()
                .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8 as u8),
        );
        out
    }

    /// Reads [`Template::to_bytes`] output.
    pub fn from_bytes(bytes: &[u8]) -> Result<Template, TemplateError> {
        if bytes.len() != TEMPLATE_BYTES || bytes.first() != Some(&VERSION) {
            return Err(TemplateError::Format);
        }
        let scale = f32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        if !scale.is_finite() || scale <= 0.0 {
            return Err(TemplateError::Format);
        }
        let mut embedding = [0f32; EMBEDDING_LEN];
        for (e, b) in embedding.iter_mut().zip(&bytes[5..]) {
            *e = f32::from(*b as i8) * scale;
        }
        Template::from_embedding(embedding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo(seed: u32) -> [f32; EMBEDDING_LEN] {
        let mut x = seed;
        std::array::from_fn(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
    }

    #[test]
    fn serialisation_is_compact_and_keeps_similarity() {
        let a = Template::from_embedding(pseudo(1)).unwrap();
        let b = Template::from_embedding(pseudo(2)).unwrap();
        let bytes = a.to_bytes();
        assert_eq!(bytes.len(), 133);
        let back = Template::from_bytes(&bytes).unwrap();
        assert!((back.similarity(&a) - 1.0).abs() < 1e-3);
        assert!((back.similarity(&b) - a.similarity(&b)).abs() < 0.01);
    }

    #[test]
    fn bad_bytes_and_zero_embeddings_are_refused() {
        assert_eq!(Template::from_bytes(&[1, 2, 3]), Err(TemplateError::Format));
        let mut bytes = Template::from_embedding(pseudo(3)).unwrap().to_bytes();
        bytes[0] = 9;
        assert_eq!(Template::from_bytes(&bytes), Err(TemplateError::Format));
        assert_eq!(
            Template::from_embedding([0.0; 128]),
            Err(TemplateError::Degenerate)
        );
        assert_eq!(
            Template::from_embedding([f32::NAN; 128]),
            Err(TemplateError::Degenerate)
        );
    }
}
