//! Round trips through `micro-gen serve --echo-unknown` (at `MICRO_ADDRESS`) with the Rust SDKs
//! of the keyword-torture protos (`micro_names_rust`) and the coverage protos (`micro_coverage`):
//! builds messages whose fields, oneofs, map entries, nested messages and enum values are named
//! with Rust keywords and prelude names (and with names the generator had to number), calls each
//! rpc kind through the high-level `Micro` clients, and checks that the echoed message is the
//! one sent. For proto2, also checks defaults and presence after the round trip.

use std::collections::HashMap;
use std::error::Error;

use micro_coverage::pb::coverage::legacy::v1 as legacy;
use micro_names_rust::pb::crate_::super_::r#type as ty;
use micro_names_rust::pb::self_::r#async::r#await as aw;

type Res<T> = Result<T, Box<dyn Error>>;

/// A message whose fields are named like Rust keywords and prelude items.
fn keywords() -> ty::Type {
    let deepest = ty::fn2::r#impl::Dyn {
        r#while: ty::fn2::r#impl::r#dyn::Where::Loop as i32,
        r#async: "async".into(),
        r#for: vec![ty::fn2::r#impl::r#dyn::Where::Break as i32],
    };
    let r#impl = ty::fn2::Impl {
        r#unsafe: Some(deepest.clone()),
        r#match: Some(ty::fn2::r#impl::Match::Super(deepest.clone())),
    };
    ty::Type {
        r#type: "type".into(),
        self_: "self".into(),
        super_: "super".into(),
        crate_: "crate".into(),
        r#fn: "fn".into(),
        r#match: 7,
        r#async: true,
        r#impl: "impl".into(),
        extern_: "extern".into(),
        r#true: true,
        option: Some(ty::Option { some: "some".into() }),
        result: Some(ty::Result { ok: "ok".into(), err: "err".into() }),
        boxed: Some(ty::Box { value: vec![0, 1, 255] }),
        none: Some(ty::None {}),
        default: Some(ty::Default { default: true }),
        results: HashMap::from([("r".to_owned(), ty::Result { ok: "1".into(), ..Default::default() })]),
        boxes: HashMap::from([(-1, ty::Box { value: vec![7] })]),
        keywords: HashMap::from([(true, ty::Keyword::Self_ as i32), (false, ty::Keyword::Await as i32)]),
        matches: HashMap::from([(3, ty::Match::Where as i32)]),
        keyword: ty::Keyword::Crate as i32,
        kind: ty::Match::Self_ as i32,
        fns: Some(ty::Fn2 {
            r#static: Some(r#impl.clone()),
            r#mod: HashMap::from([("mod".to_owned(), r#impl)]),
            r#ref: vec![deepest.clone()],
        }),
        dyns: vec![deepest],
        self_type: Some("Self".into()),
        opt_keyword: Some(ty::Keyword::Fn as i32),
        wrapped: Some("wrapped".into()),
        bytes: vec![vec![1, 2, 3]],
        micro: Some(ty::Micro { micro: "micro".into() }),
        // The oneof `loop_` is `loop_2` (the field `loop` is `r#loop`).
        loop_2: Some(ty::r#type::Loop2::SelfMessage(ty::Self_ {})),
        ..Default::default()
    }
}

/// The first response of a stream, which must be its only one.
async fn only<T>(response: micro_names_rust::tonic::Response<micro_names_rust::Streaming<T>>) -> Res<T> {
    let mut stream = response.into_inner();
    let first = stream.message().await?.ok_or("no response")?;
    if stream.message().await?.is_some() {
        return Err("more than one response".into());
    }
    Ok(first)
}

async fn only_coverage<T>(response: micro_names_rust::tonic::Response<micro_coverage::Streaming<T>>) -> Res<T> {
    let mut stream = response.into_inner();
    let first = stream.message().await?.ok_or("no response")?;
    if stream.message().await?.is_some() {
        return Err("more than one response".into());
    }
    Ok(first)
}

fn check<T: PartialEq + std::fmt::Debug>(what: &str, got: T, sent: &T) -> Res<()> {
    if &got != sent {
        return Err(format!("{what}: echoed {got:?}, sent {sent:?}").into());
    }
    println!("ok {what}");
    Ok(())
}

async fn names(address: &str) -> Res<()> {
    let micro = micro_names_rust::Micro::builder(address).connect().await?;

    // crate.super.type.Drop_: rpcs `type`, `Self`, `Box`, `Clone`.
    let sent = keywords();
    let client = micro.drop();
    check("Drop_.type (unary)", client.r#type(sent.clone()).await?.into_inner(), &sent)?;
    check("Drop_.Self (server-streaming)", only(client.self_(sent.clone()).await?).await?, &sent)?;
    let requests = tokio_stream::iter(vec![ty::Type::default(), sent.clone()]);
    check("Drop_.Box (client-streaming)", client.r#box(requests).await?.into_inner(), &sent)?;
    let requests = tokio_stream::iter(vec![sent.clone()]);
    check("Drop_.Clone (bidi)", only(client.clone(requests).await?).await?, &sent)?;

    // self.async.await.Micro: rpcs `Micro`, `Connect`, `New` (`new2`), `Clone`.
    let sent = aw::Await {
        self_: "self".into(),
        r#type: Some(keywords()),
        keyword: ty::Keyword::Match as i32,
        impls: HashMap::from([("impl".to_owned(), ty::fn2::Impl::default())]),
        deepest: Some(aw::r#await::nested::deeper::Deepest {
            self_: aw::r#await::nested::deeper::deepest::Self_::SelfSelf as i32,
        }),
        r#async: Some(aw::r#await::Async::Match(ty::Match::Await as i32)),
    };
    let client = micro.micro();
    check("Micro.Micro (unary)", client.micro(sent.clone()).await?.into_inner(), &sent)?;
    check("Micro.Connect (server-streaming)", only(client.connect(sent.clone()).await?).await?, &sent)?;
    let requests = tokio_stream::iter(vec![sent.clone()]);
    check("Micro.New (client-streaming, new2)", client.new2(requests).await?.into_inner(), &sent)?;
    let requests = tokio_stream::iter(vec![sent.clone()]);
    check("Micro.Clone (bidi)", only(client.clone(requests).await?).await?, &sent)?;
    // Renamed services and rpcs keep their gRPC paths.
    check("Arc.Get (Arc2)", micro.arc().get(sent.clone()).await?.into_inner(), &sent)?;
    check("foo_bar.Get (FooBar2)", micro.foo_bar2().get(sent.clone()).await?.into_inner(), &sent)?;
    check("type.FooBar", micro.r#type().foo_bar(sent.clone()).await?.into_inner(), &sent)?;
    check(
        "type.fooBar (foo_bar3)",
        micro.r#type().foo_bar3(tokio_stream::iter(vec![sent.clone()])).await?.into_inner(),
        &sent,
    )?;
    check("Clone.WithInterceptor", micro.clone_().with_interceptor2(sent.clone()).await?.into_inner(), &sent)?;

    // crate.super.type.Collide (proto2): numbered fields, oneofs and enum values; defaults.
    let sent = ty::Holder {
        set_color2: Some(ty::Color::Type as i32),
        kind: vec![ty::Color::Red as i32, ty::Color::Self_ as i32],
        self_: Some("Self".into()),
        self2: Some("self".into()),
        type2: Some("Type".into()),
        choice_a: Some(ty::holder::ChoiceA::A("a".into())),
        choice_a2: Some(ty::holder::ChoiceA2::B("b".into())),
        choice: Some(ty::holder::ChoiceOneOf::D(ty::holder::Choice { z: Some(1) })),
        required_type: keywords(),
        ..Default::default()
    };
    let client = micro.collide();
    let got = client.unary(sent.clone()).await?.into_inner();
    check("Collide.Unary", got.clone(), &sent)?;
    // Unset proto2 fields read their defaults and stay unset.
    check("Holder.color() default", (got.color, got.color()), &(None, ty::Color::Blue))?;
    check("Holder.type() default", (got.r#type.is_none(), got.r#type()), &(true, "type"))?;
    check("Holder.choice_b() default", got.choice_b(), &-7)?;
    check("Holder.ratio() default", got.ratio(), &0.5)?;
    check("Holder.data() default", got.data(), &&[1u8, 2][..])?;
    check("Holder.keyword() default", got.keyword(), &ty::Keyword::Self_)?;
    check("Color::Self_ proto name", ty::Color::Self_.as_str_name(), &"COLOR_SELF")?;
    check("Color::from_str_name", ty::Color::from_str_name("COLOR_TYPE"), &Some(ty::Color::Type))?;
    check("Collide.ServerStream", only(client.server_stream(sent.clone()).await?).await?, &sent)?;
    check(
        "Collide.ClientStream",
        client.client_stream(tokio_stream::iter(vec![sent.clone()])).await?.into_inner(),
        &sent,
    )?;
    check("Collide.Bidi", only(client.bidi(tokio_stream::iter(vec![sent.clone()])).await?).await?, &sent)?;

    // crate.super.type.sub (its module `sub` made message `Sub` of the parent package `Sub2`).
    let sent = ty::sub::Sub {
        parent: Some(ty::Sub2 { inner: Some(ty::sub2::Inner { value: Some("parent".into()) }) }),
        inner: Some(ty::sub2::Inner { value: Some("inner".into()) }),
        own: Some(ty::sub::sub::Inner { value: "own".into() }),
    };
    let client = micro.sub();
    check("Sub_.Unary", client.unary(sent.clone()).await?.into_inner(), &sent)?;
    check("Sub_.ServerStream", only(client.server_stream(sent.clone()).await?).await?, &sent)?;
    check(
        "Sub_.ClientStream",
        client.client_stream(tokio_stream::iter(vec![sent.clone()])).await?.into_inner(),
        &sent,
    )?;
    check("Sub_.Bidi", only(client.bidi(tokio_stream::iter(vec![sent.clone()])).await?).await?, &sent)?;
    Ok(())
}

async fn coverage(address: &str) -> Res<()> {
    let micro = micro_coverage::Micro::builder(address).connect().await?;
    let depth = legacy::record::level1::level2::level3::Depth::Three as i32;
    let sent = legacy::Record {
        id: "r1".into(),
        revision: 2,
        f_int32: Some(5),
        unpacked: vec![1, 2],
        packed: vec![3, 4],
        statuses: vec![legacy::Status::SoldOut as i32],
        audit: Some(legacy::record::Audit { by: Some("me".into()), at: Some(9) }),
        level1: Some(legacy::record::Level1 {
            level2: Some(legacy::record::level1::Level2 {
                level3: Some(legacy::record::level1::level2::Level3 { depth: Some(depth), leaf: None }),
            }),
        }),
        choice: Some(legacy::record::Choice::Number(3)),
        ..Default::default()
    };
    let client = micro.legacy();
    let got = client.put(sent.clone()).await?.into_inner();
    check("Legacy.Put", got.clone(), &sent)?;
    check("Record.f_int32 set", got.f_int32(), &5)?;
    check("Record.f_double() default", (got.f_double, got.f_double()), &(None, 1.5))?;
    check("Record.f_uint64() default", got.f_uint64(), &u64::MAX)?;
    check("Record.f_string() default", got.f_string(), &"h\"i\\\n\u{e9}")?;
    check("Record.f_bytes() default", got.f_bytes(), &&[0u8, 1, 255, b'z'][..])?;
    check("Record.status() default", got.status(), &legacy::Status::SoldOut)?;
    check("Record.f_inf() default", got.f_inf(), &f64::INFINITY)?;
    check("Record.f_nan() default is NaN", got.f_nan().is_nan(), &true)?;
    check("Record.plain presence", (got.plain.is_none(), got.plain()), &(true, ""))?;
    let level3 = legacy::record::level1::level2::Level3::default();
    check("Level3.depth() default", level3.depth(), &legacy::record::level1::level2::level3::Depth::Four)?;
    check("Legacy.Scan", only_coverage(client.scan(sent.clone()).await?).await?, &sent)?;
    check("Legacy.Load", client.load(tokio_stream::iter(vec![sent.clone()])).await?.into_inner(), &sent)?;
    check("Legacy.Sync", only_coverage(client.sync(tokio_stream::iter(vec![sent.clone()])).await?).await?, &sent)?;
    Ok(())
}

#[tokio::main]
async fn main() -> Res<()> {
    let address = std::env::var("MICRO_ADDRESS").map_err(|_| "MICRO_ADDRESS is not set")?;
    names(&address).await?;
    coverage(&address).await?;
    println!("names and coverage round trips: ok");
    Ok(())
}
