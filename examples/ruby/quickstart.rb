# frozen_string_literal: true

# Quickstart: write, read and list records, read config, and handle a Micro error.
#
# Run with the SDK installed (`gem install ./micro-sdk-<version>.gem`, or `ruby -I sdks/ruby/lib`)
# and a platform listening on MICRO_ADDRESS.

require 'micro'

client = Micro::Client.new(
  address: ENV.fetch('MICRO_ADDRESS', '127.0.0.1:8081'),
  token: ENV.fetch('MICRO_TOKEN', nil),
  namespace: ENV.fetch('MICRO_NAMESPACE', 'micro'),
  timeout: 5.0
)
begin
  client.store.write(Store::WriteRequest.new(record: Store::Record.new(key: 'quickstart/greeting', value: 'hello')))
  records = client.store.read(Store::ReadRequest.new(key: 'quickstart/greeting')).records
  puts "read #{records[0].key} = #{records[0].value}"

  client.store.list(Store::ListRequest.new(options: Store::ListOptions.new(prefix: 'quickstart/'))).each do |page|
    puts "listed #{page.keys.to_a.join(', ')}"
  end

  client.config.set(Config::SetRequest.new(namespace: 'quickstart', path: 'db.port', value: Config::Value.new(data: '5432')))
  value = client.config.get(Config::GetRequest.new(namespace: 'quickstart', path: 'db')).value
  puts "config db = #{value.data}"

  begin
    client.store.read(Store::ReadRequest.new(key: 'quickstart/missing'))
    abort 'expected NOT_FOUND'
  rescue Micro::Error => e
    raise unless e.code == GRPC::Core::StatusCodes::NOT_FOUND

    puts "missing key: #{e.code_name} #{e.id} #{e.micro_code} #{e.status}"
  end
ensure
  client.close
end
