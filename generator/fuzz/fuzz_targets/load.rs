//! Arbitrary bytes as the source of one `.proto` file, through the loader (protox, source
//! recording, editions and error location) and the model (validation included). Errors are
//! fine; a panic, an abort or a hang is a bug. `generator/tests/bad_input.rs` runs the same code
//! on the checked-in corpus (`regressions/load/`) on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use micro_gen::load::{ProtoSource, load};
use micro_gen::model::Model;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(loaded) = load(&ProtoSource::Memory { files: vec![("fuzz.proto".into(), text.into())] })
    {
        let _ = Model::build(&loaded);
    }
});
