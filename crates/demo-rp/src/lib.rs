//! A demo relying party for Sign in with Tessera: [`rp`] is the client side as any website
//! would write it (the third-party `openidconnect` library), [`shop`] a small ticket shop on
//! top of it.

pub mod rp;
pub mod shop;
