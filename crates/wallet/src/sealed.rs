//! The vault sealed in a file under a key kept in the OS keystore (work in progress).
