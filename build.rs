//! `embed_migrations!` reads the migration folders at compile time, but
//! cargo tracks only the files it has already embedded: a new migration
//! would be left out of the binary until something else changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
