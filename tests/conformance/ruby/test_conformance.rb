# frozen_string_literal: true

# Conformance runner for the generated Ruby SDK (sdks/ruby, `require 'micro'`).
#
# Runs every case of tests/conformance/*.json (format: tests/conformance/README.md) through the
# high-level client, Micro::Client, against the reference server `$MICRO_GEN_BIN serve
# --test-hooks`. Each case file is one test class with its own server, started before its first
# case; the cases of a file run in file order (the class is order dependent), and every case
# builds its own client from the case's `client` options.
#
#   MICRO_GEN_BIN=target/debug/micro-gen ruby -Isdks/ruby/lib tests/conformance/ruby/test_conformance.rb
#
# Environment: MICRO_GEN_BIN (required), MICRO_CONFORMANCE_CASES (optional: a directory of case
# files to run instead of tests/conformance).

require 'json'
require 'minitest/autorun'
require 'micro'
require_relative 'server'

module Conformance
  CASES_DIR = ENV.fetch('MICRO_CONFORMANCE_CASES', nil) || File.expand_path('..', __dir__)
  CASE_FILES = Dir[File.join(CASES_DIR, '*.json')].sort
  CLIENT_OPTIONS = %w[token namespace timeoutMs metadata headers retry tls].freeze
  CALL_KEYS = %w[service method request requests timeoutMs metadata expect name comment].freeze
  EXPECT_KEYS = %w[response responses error headers headersMatch].freeze
  ERROR_KEYS = %w[code id microCode status detail message].freeze

  module_function

  # The accessor of Micro::Client whose typed client serves `service` (SERVICE_NAME).
  def find_client(sdk, service)
    Micro::Client.public_instance_methods(false).each do |name|
      next unless Micro::Client.instance_method(name).arity.zero?

      value = sdk.public_send(name)
      return value if value.class.const_defined?(:SERVICE_NAME) && value.class::SERVICE_NAME == service
    end
    raise "Micro::Client has no client with SERVICE_NAME #{service.inspect}"
  end

  def snake_case(name)
    name.gsub(/(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])/) { "_#{Regexp.last_match(0)}" }.downcase
  end

  def find_method(client, rpc)
    name = snake_case(rpc)
    [name, "#{name}_"].each { |candidate| return client.method(candidate) if client.respond_to?(candidate) }
    raise "#{client.class} has no method #{name.inspect} for rpc #{rpc.inspect}"
  end

  # A message as proto3 JSON (json names, defaults omitted, int64 as strings), parsed.
  def as_json(message)
    JSON.parse(message.class.encode_json(message))
  end

  # An expected response in the printer's canonical form: parsed into the message, printed again.
  def normalized(expected, type)
    as_json(type.decode_json(JSON.generate(expected)))
  end

  def retry_policy(spec)
    return nil if spec == false || spec.nil?

    names = { 'maxRetries' => [:max_retries, 1], 'initialBackoffMs' => [:initial_backoff, 1000.0],
              'maxBackoffMs' => [:max_backoff, 1000.0], 'multiplier' => [:multiplier, 1],
              'jitter' => [:jitter, 1] }
    kwargs = {}
    spec.each do |key, value|
      if key == 'retryableCodes'
        kwargs[:retryable_codes] = value.map { |code| GRPC::Core::StatusCodes.const_get(code) }
      else
        raise "unsupported retry option #{key.inspect}" unless names.key?(key)

        name, divisor = names[key]
        kwargs[name] = divisor == 1 ? value : value / divisor
      end
    end
    Micro::RetryPolicy.new(**kwargs)
  end

  def client_options(spec)
    spec ||= {}
    unknown = spec.keys - CLIENT_OPTIONS
    raise "unsupported client options #{unknown}" unless unknown.empty?

    options = {}
    options[:token] = spec['token'] if spec.key?('token')
    options[:namespace] = spec['namespace'] if spec.key?('namespace')
    options[:tls] = spec['tls'] if spec.key?('tls')
    options[:timeout] = spec['timeoutMs'] / 1000.0 if spec.key?('timeoutMs')
    extra = (spec['metadata'] || {}).merge(spec['headers'] || {})
    options[:metadata] = extra unless extra.empty?
    options[:retry] = retry_policy(spec['retry']) if spec.key?('retry')
    options
  end
end

# One test class per case file, each with its own server.
Conformance::CASE_FILES.each_with_index do |path, file_index|
  doc = JSON.parse(File.read(path))
  file_service = doc.fetch('service', '')
  klass = Class.new(Minitest::Test) do
    i_suck_and_my_tests_are_order_dependent! # cases of a file build on each other, in file order

    define_singleton_method(:server) do
      @server ||= Conformance.start_server
    end

    define_method(:check_call) do |label, call, rpc_desc, result, error, headers|
      expect = call['expect'] || {}
      output = rpc_desc.output.is_a?(GRPC::RpcDesc::Stream) ? rpc_desc.output.type : rpc_desc.output
      if expect.key?('error')
        want = expect['error']
        unknown = want.keys - Conformance::ERROR_KEYS
        raise "#{label}: unsupported error keys #{unknown}" unless unknown.empty?
        refute_nil error, "#{label}: expected #{want['code']}, got a response #{result.inspect}"
        assert_equal want['code'], error.code_name, "#{label}: code (#{error.message})"
        { 'id' => :id, 'microCode' => :micro_code, 'status' => :status, 'detail' => :detail,
          'message' => :grpc_message }.each do |key, attribute|
          assert_equal want[key], error.public_send(attribute), "#{label}: error #{attribute} (#{error.message})" if want.key?(key)
        end
        # A failed call's headers come in a trailers-only response: count the trailers as headers.
        error.metadata.each { |k, v| headers[k] = v unless headers.key?(k) }
      else
        assert_nil error, "#{label}: unexpected error #{error.inspect}"
        if expect.key?('response')
          assert_kind_of Google::Protobuf::MessageExts, result, "#{label}: expected one response"
          assert_equal Conformance.normalized(expect['response'], output), Conformance.as_json(result),
                       "#{label}: response"
        else
          assert_kind_of Array, result, "#{label}: expected a stream of responses"
          assert_equal expect['responses'].map { |r| Conformance.normalized(r, output) },
                       result.map { |m| Conformance.as_json(m) }, "#{label}: responses"
        end
      end
      (expect['headers'] || {}).each do |key, value|
        assert_equal value, headers[key], "#{label}: header #{key.inspect}"
      end
      (expect['headersMatch'] || {}).each do |key, pattern|
        got = headers[key]
        assert got.is_a?(String) && got.match?(Regexp.new(pattern)),
               "#{label}: header #{key.inspect} is #{got.inspect}, expected a match of #{pattern.inspect}"
      end
    end

    doc.fetch('cases', []).each_with_index do |data, index|
      name = data['name'] || "case #{index}"
      define_method(format('test_%04d_%s', index, name.gsub(/[^A-Za-z0-9]+/, '_'))) do
        sdk = Micro::Client.new(address: self.class.server.address, **Conformance.client_options(data['client']))
        begin
          data.fetch('calls', []).each_with_index do |call, call_index|
            unknown = call.keys - Conformance::CALL_KEYS
            raise "unsupported call keys #{unknown}" unless unknown.empty?

            service = call['service'] || file_service
            rpc = call.fetch('method')
            label = "#{File.basename(path)} #{name.inspect} call #{call_index} (#{service}.#{rpc})"
            expect = call['expect'] || {}
            unknown = expect.keys - Conformance::EXPECT_KEYS
            raise "#{label}: unsupported expect keys #{unknown}" unless unknown.empty?
            outcomes = %w[response responses error].count { |k| expect.key?(k) }
            raise "#{label}: expect needs exactly one of response/responses/error" unless outcomes == 1

            client = Conformance.find_client(sdk, service)
            rpc_desc = client.class::SERVICE.rpc_descs.fetch(rpc.to_sym)
            client_streaming = rpc_desc.input.is_a?(GRPC::RpcDesc::Stream)
            server_streaming = rpc_desc.output.is_a?(GRPC::RpcDesc::Stream)
            input = client_streaming ? rpc_desc.input.type : rpc_desc.input
            items = call.key?('requests') ? call['requests'] : [call['request'] || {}]
            requests = items.map { |item| input.decode_json(JSON.generate(item)) }
            kwargs = {}
            kwargs[:timeout] = call['timeoutMs'] / 1000.0 if call.key?('timeoutMs')
            kwargs[:metadata] = call['metadata'].transform_values(&:to_s) if call['metadata'] && !call['metadata'].empty?
            headers = {}
            kwargs[:on_headers] = ->(h) { h.each { |k, v| headers[k] = v } }
            result = nil
            error = nil
            begin
              outcome = Conformance.find_method(client, rpc).call(client_streaming ? requests.each : requests.first, **kwargs)
              result = server_streaming ? outcome.to_a : outcome
            rescue Micro::Error => e
              error = e
            end
            check_call(label, call, rpc_desc, result, error, headers)
          end
        ensure
          sdk.close
        end
      end
    end
  end
  const_name = "Conformance#{file_index}#{File.basename(path, '.json').gsub(/[^A-Za-z0-9]/, '_').capitalize}Test"
  Object.const_set(const_name, klass)
end

# The runner must have something to run.
class ConformanceFilesTest < Minitest::Test
  def test_case_files_exist
    refute_empty Conformance::CASE_FILES, "no conformance case files (*.json) in #{Conformance::CASES_DIR}"
  end
end
