# frozen_string_literal: true

# Round-trips a message that uses every construct of the features case through binary and JSON,
# and checks the typed client's names (Ruby SDK).

require 'json'
require 'micro'

def check(condition, what)
  raise "features (Ruby): #{what}" unless condition
end

Shop = Acme::Shop::V1
order = Shop::Order.new(
  id: 'o-1',
  kind: :KIND_ONLINE,
  lines: [Shop::Order::Line.new(sku: 'a', quantity: 2,
                                unit_price: Acme::Common::V1::Money.new(currency: 'EUR', units: 3, nanos: 500))],
  counts: { 'a' => 2 },
  cash: Acme::Common::V1::Money.new(currency: 'EUR', units: 7),
  note: 'leave at door',
  created_at: Google::Protobuf::Timestamp.new(seconds: 1_767_323_045),
  lines_by_id: { 7 => Shop::Order::Line.new(sku: 'b', quantity: 1) },
  attachment: "\x00\xFF".b,
  weight_kg: 1.5,
  points: -42,
  status: :STATUS_OK,
  history: [:STATUS_OK, :STATUS_FAILED],
  constructor: 'escaped'
)
check(order.payment == :cash, 'oneof case')
check(order.has_note?, 'proto3 optional presence')
check(Shop::Order::Kind::KIND_IN_STORE == 2, 'nested enum constant')
check(Acme::Common::V1::Status.resolve(:STATUS_FAILED) == 2, 'enum module')
back = Shop::Order.decode(Shop::Order.encode(order))
check(back == order, 'binary round trip')
json = JSON.parse(Shop::Order.encode_json(order))
check(json['kind'] == 'KIND_ONLINE', "enum in JSON: #{json['kind']}")
check(json['cash']['units'] == '7', 'int64 as a JSON string')
check(json['linesById']['7']['sku'] == 'b', 'map with an integer key, json name')
check(json['createdAt'] == '2026-01-02T03:04:05Z', "Timestamp in JSON: #{json['createdAt']}")
check(Shop::Order.decode_json(JSON.generate(json)) == order, 'JSON round trip')

client_class = Micro::ShopServiceClient
check(client_class::SERVICE_NAME == 'acme.shop.v1.ShopService', 'SERVICE_NAME')
check(client_class::SERVICE == Shop::ShopService::Service, 'SERVICE')
check(%i[get_order watch_orders import_orders chat].all? { |m| client_class.method_defined?(m) }, 'method names')
check(Micro::Client.method_defined?(:shop_service), 'accessor')
check(Shop::ShopService::Stub.method_defined?(:get_order), 'grpc stub')
puts 'features: Ruby round trip ok'
