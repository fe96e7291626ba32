# frozen_string_literal: true

# A smoke test of the Ruby SDK's surface that needs no server: messages, the high-level client's
# options and accessors, retry policy checks, address parsing and Micro error decoding. Run by
# run.sh against the installed gem (`require 'micro'` resolves through GEM_HOME).

require 'micro'

def check(condition, what)
  raise "usage example: #{what}" unless condition
end

record = Store::Record.new(key: 'greeting', value: 'hello', expiry: 60)
check(Store::Record.decode(Store::Record.encode(record)) == record, 'binary round trip')
json = JSON.parse(Store::Record.encode_json(record))
check(json == { 'key' => 'greeting', 'value' => 'aGVsbG8=', 'expiry' => '60' }, "proto3 JSON: #{json}")

client = Micro::Client.new(address: '127.0.0.1:1', token: 't', namespace: 'ns', timeout: 2.5,
                           retry: Micro::RetryPolicy.new(max_retries: 1), metadata: { 'x-a' => 'b' })
%i[store blob_store config debug auth events_store registry runtime].each do |accessor|
  check(client.respond_to?(accessor), "Micro::Client##{accessor}")
end
check(client.store.class::SERVICE_NAME == 'store.Store', 'SERVICE_NAME')
check(client.store.list({}).is_a?(Enumerator), 'a server stream is an Enumerator (lazy)')
client.close
Micro::Client.new(address: '127.0.0.1:1', retry: nil).close
Micro::Client.new(address: '127.0.0.1:1', retry: false).close

check(Micro::Channel.parse_address('https://example.com') == ['example.com:443', true], 'https address')
check(Micro::Channel.parse_address('example.com:443') == ['example.com:443', true], 'port 443')
check(Micro::Channel.parse_address('http://example.com:443') == ['example.com:443', false], 'http forces off')
check(Micro::Channel.parse_address('10.0.0.5:8081', true) == ['10.0.0.5:8081', true], 'tls forced on')

begin
  Micro::RetryPolicy.new(jitter: 2)
  check(false, 'jitter out of range is rejected')
rescue ArgumentError
  nil
end

# Retries: count the attempts of a unary call to a closed port (UNAVAILABLE) with an interceptor.
class CountingInterceptor < GRPC::ClientInterceptor
  attr_reader :attempts

  def initialize
    super
    @attempts = 0
  end

  def request_response(request: nil, call: nil, method: nil, metadata: nil)
    @attempts += 1
    yield
  end
end

def attempts(**options)
  counter = CountingInterceptor.new
  client = Micro::Client.new(address: '127.0.0.1:1', interceptors: [counter], **options)
  error = begin
    client.store.read({ key: 'k' })
    nil
  rescue Micro::Error => e
    e
  ensure
    client.close
  end
  check(error&.code_name == 'UNAVAILABLE', "a closed port fails with UNAVAILABLE, got #{error.inspect}")
  counter.attempts
end

fast = Micro::RetryPolicy.new(initial_backoff: 0.01, jitter: 0)
check(attempts(retry: fast) == 3, 'the default policy retries twice')
check(attempts(retry: Micro::RetryPolicy.new(max_retries: 4, initial_backoff: 0.01)) == 5, 'max_retries')
check(attempts(retry: nil) == 1, 'retry: nil switches retries off')
check(attempts(retry: Micro::RetryPolicy.new(initial_backoff: 5), timeout: 1) == 1, 'no retry past the deadline')
check(attempts(retry: Micro::RetryPolicy.new(retryable_codes: [])) == 1, 'retryable codes')

# errors.Error {id=1, code=2, detail=3, status=4} inside google.rpc.Status.details (an Any).
def field(number, bytes)
  [(number << 3) | 2, bytes.bytesize].pack('CC') + bytes
end
micro_error = field(1, 'store.Store.Read') + [(2 << 3), 0x94, 0x03].pack('CCC') + field(3, 'not found') +
              field(4, 'Not Found')
any = field(1, 'type.googleapis.com/errors.Error') + field(2, micro_error)
status = [(1 << 3), 5].pack('CC') + field(2, 'not found') + field(3, any)
error = Micro::Error.from_status(GRPC::Core::StatusCodes::NOT_FOUND, 'x', { 'grpc-status-details-bin' => status })
check([error.code_name, error.id, error.micro_code, error.detail, error.status] ==
      ['NOT_FOUND', 'store.Store.Read', 404, 'not found', 'Not Found'], "status details: #{error.inspect}")
error = Micro::Error.from_status(GRPC::Core::StatusCodes::UNAUTHENTICATED,
                                 '{"id":"go.micro.auth","code":401,"detail":"bad token","status":"Unauthorized"}')
check([error.id, error.micro_code, error.detail] == ['go.micro.auth', 401, 'bad token'], 'JSON message')
error = Micro::Error.from_status(GRPC::Core::StatusCodes::INTERNAL, 'boom')
check([error.id, error.micro_code, error.detail, error.status] == ['', 0, 'boom', ''], 'plain message')
check(error.is_a?(StandardError) && error.message == 'INTERNAL: boom', "message: #{error.message}")
puts "usage example: ok (#{Micro::USER_AGENT})"
