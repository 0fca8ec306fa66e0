//! `embed_migrations!` reads `migrations/` at compile time; a new migration directory must
//! rebuild this crate, which cargo only knows to do when told.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
