//! Device keys inside a TPM 2.0 (work in progress).
