//! Arbitrary bytes as an encoded `FileDescriptorSet`, through decoding and the model
//! (validation included): the model must reject, never panic on, descriptors that protox would
//! never produce. `generator/tests/bad_input.rs` runs the same code on the checked-in corpus
//! (`regressions/descriptor/`) on stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use micro_gen::load::from_descriptor_set;
use micro_gen::model::Model;

fuzz_target!(|data: &[u8]| {
    if let Ok(loaded) = from_descriptor_set(data) {
        let _ = Model::build(&loaded);
    }
});
