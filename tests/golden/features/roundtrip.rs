//! Round-trips a message that uses every construct of the features case through the binary
//! format, and checks the embedded descriptor set (run as an example of the generated crate).
use std::collections::HashMap;

use micro_client::pb::acme::common::v1::{Money, Status};
use micro_client::pb::acme::shop::v1::{order, Order};
use micro_client::prost::Message;

fn main() {
    let line = |sku: &str, quantity| order::Line {
        sku: sku.into(),
        quantity,
        unit_price: Some(Money { currency: "EUR".into(), units: 3, nanos: 500 }),
    };
    let order = Order {
        id: "o-1".into(),
        kind: order::Kind::Online as i32,
        lines: vec![line("a", 2)],
        counts: HashMap::from([("a".to_owned(), 2)]),
        payment: Some(order::Payment::Cash(Money { currency: "EUR".into(), units: 7, nanos: 0 })),
        note: Some("leave at door".into()),
        created_at: Some(prost_types::Timestamp { seconds: 1_767_323_045, nanos: 0 }),
        lines_by_id: HashMap::from([(7, line("b", 1))]),
        attachment: vec![0x00, 0xff],
        weight_kg: 1.5,
        points: -42,
        status: Status::Ok as i32,
        history: vec![Status::Ok as i32, Status::Failed as i32],
        constructor: "escaped".into(),
        ..Default::default()
    };
    let back = Order::decode(order.encode_to_vec().as_slice()).expect("decode");
    assert_eq!(back, order, "binary round trip");
    assert_eq!(back.kind(), order::Kind::Online);
    assert_eq!(order::Kind::InStore.as_str_name(), "KIND_IN_STORE");
    assert!(matches!(back.payment, Some(order::Payment::Cash(_))));

    let set = prost_types::FileDescriptorSet::decode(micro_client::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    assert!(names.contains(&"acme/shop/v1/shop.proto") && names.contains(&"google/protobuf/timestamp.proto"), "{names:?}");
    assert!(set.file.iter().all(|f| f.source_code_info.is_none()));
    println!("rust round trip ok");
}
