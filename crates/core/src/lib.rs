//! payments-core (skeleton; filled in below).
