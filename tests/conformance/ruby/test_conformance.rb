# frozen_string_literal: true

# Conformance runner for the generated Ruby SDKs (`require 'micro'`).
#
# Runs the cases of tests/conformance/*.json (format and extensions: tests/conformance/README.md)
# through the high-level client, Micro::Client, against the reference server `$MICRO_GEN_BIN serve
# --address 127.0.0.1:0 --test-hooks [server.args...]`. The core SDK and the kitchen-sink SDK
# both define `Micro::Client`, so one process runs one of them: CONFORMANCE_SDK=core (the
# default) runs the files without `"sdk"` (or with `"sdk": "core"`) with sdks/ruby on the load
# path, CONFORMANCE_SDK=kitchen runs the `"sdk": "kitchen"` files with the kitchen-sink SDK on it
# (run.sh runs both). Each case file is one test class with its own server, started before its
# first case; the cases of a file run in file order (the class is order dependent) and share the
# values they `save`; every case builds its own client from the case's `client` options.
#
# Extensions: `parallel` calls run on a thread each and are joined and checked at the end of the
# case; `take` leaves the iteration after N responses (which cancels the call); `cancelAfterMs`
# passes a Micro::Cancellation to the call and cancels it from a thread after N ms.
#
# Results: $CONFORMANCE_RESULTS/ruby.json (default <repo>/.cache/conformance-results); with
# CONFORMANCE_RESULTS_MERGE=1 the groups are added to the file's existing ones (run.sh's second,
# kitchen-sink run).
#
#   MICRO_GEN_BIN=target/debug/micro-gen ruby -Isdks/ruby/lib tests/conformance/ruby/test_conformance.rb
#
# Environment: MICRO_GEN_BIN (required), CONFORMANCE_DIR or MICRO_CONFORMANCE_CASES (optional: a
# directory of case files to run instead of tests/conformance), CONFORMANCE_SDK, CONFORMANCE_RESULTS,
# CONFORMANCE_RESULTS_MERGE.

require 'base64'
require 'fileutils'
require 'json'
require 'minitest/autorun'
require 'micro'
require_relative 'server'

module Conformance
  CASES_DIR = ENV.fetch('CONFORMANCE_DIR', nil) || ENV.fetch('MICRO_CONFORMANCE_CASES', nil) || File.expand_path('..', __dir__)
  RESULTS_DIR = ENV.fetch('CONFORMANCE_RESULTS', nil) || File.expand_path('../../../.cache/conformance-results', __dir__)
  SDK = ENV.fetch('CONFORMANCE_SDK', 'core')
  ALL_CASE_FILES = Dir[File.join(CASES_DIR, '*.json')].sort
  # path => parsed document, or the reason it cannot be read (a String; counts as one failed case)
  DOCUMENTS = ALL_CASE_FILES.to_h do |path|
    doc = JSON.parse(File.read(path))
    [path, doc.is_a?(Hash) ? doc : 'not a JSON object']
  rescue JSON::ParserError => e
    [path, e.message]
  end
  CASE_FILES = ALL_CASE_FILES.select do |path|
    doc = DOCUMENTS[path]
    doc.is_a?(String) ? SDK == 'core' : doc.fetch('sdk', 'core') == SDK
  end
  FILE_KEYS = %w[service cases server sdk comment].freeze
  CLIENT_OPTIONS = %w[token namespace timeoutMs metadata headers retry tls].freeze
  CALL_KEYS = %w[service method request requests timeoutMs metadata expect name comment
                 parallel take cancelAfterMs save].freeze
  EXPECT_KEYS = %w[response responseIncludes responses responsesIncludes error headers headersMatch].freeze
  BODY_KEYS = %w[response responseIncludes responses responsesIncludes].freeze
  ERROR_KEYS = %w[code id microCode status detail message].freeze
  PLACEHOLDER = /\$\{([^}]+)\}/
  BYTES = /\Abytes:(\d+)\z/

  # group => { case name => passed }
  RESULTS = {}
  RESULTS_LOCK = Mutex.new

  module_function

  def record(group, name, passed)
    RESULTS_LOCK.synchronize { (RESULTS[group] ||= {})[name] = passed }
  end

  def write_results
    return if RESULTS.empty?

    FileUtils.mkdir_p(RESULTS_DIR)
    path = File.join(RESULTS_DIR, 'ruby.json')
    groups = {}
    if ENV['CONFORMANCE_RESULTS_MERGE'] == '1' && File.exist?(path)
      groups = JSON.parse(File.read(path)).fetch('groups', {})
    end
    RESULTS.sort.each do |group, cases|
      failures = cases.reject { |_, passed| passed }.keys
      groups[group] = { 'passed' => cases.size - failures.size, 'failed' => failures.size, 'failures' => failures }
    end
    File.write(path, "#{JSON.pretty_generate({ 'language' => 'ruby', 'groups' => groups.sort.to_h })}\n")
  end

  # The accessor of Micro::Client whose typed client serves `service` (SERVICE_NAME).
  def find_client(sdk, service)
    (Micro::Client.public_instance_methods(false) - %i[close channel]).each do |name|
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
    # The client's own methods only: an escaped rpc (`Inspect` → `inspect_`) must not resolve to
    # the Object method of the same name.
    own = client.class.public_instance_methods(false)
    [name, "#{name}_"].each { |candidate| return client.method(candidate) if own.include?(candidate.to_sym) }
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

  # `got` contains `want`: objects as subsets, arrays element-wise, other values equal.
  def includes?(got, want)
    case want
    when Array then got.is_a?(Array) && got.size == want.size && got.zip(want).all? { |g, w| includes?(g, w) }
    when Hash then got.is_a?(Hash) && want.all? { |k, w| got.key?(k) && includes?(got[k], w) }
    else got == want && (got.is_a?(Numeric) == want.is_a?(Numeric))
    end
  end

  # Standard base64 (with padding) of `n` bytes where byte i is `i % 256`.
  def pattern_bytes(count)
    Base64.strict_encode64(Array.new(count) { |i| i % 256 }.pack('C*'))
  end

  def saved_value(name, saved)
    size = BYTES.match(name)
    return pattern_bytes(size[1].to_i) if size
    raise "substitution: no saved value named #{name.inspect}" unless saved.key?(name)

    saved[name]
  end

  # Replaces `${name}` and `${bytes:N}` in every string of `value` (see the README).
  def substitute(value, saved)
    case value
    when String
      exact = value.match(/\A\$\{([^}]+)\}\z/)
      return Marshal.load(Marshal.dump(saved_value(exact[1], saved))) if exact

      value.gsub(PLACEHOLDER) do
        got = saved_value(Regexp.last_match(1), saved)
        got.is_a?(String) ? got : JSON.generate(got)
      end
    when Array then value.map { |item| substitute(item, saved) }
    when Hash then value.to_h { |k, v| [k, substitute(v, saved)] }
    else value
    end
  end

  # The text of a saved value where a string is needed: strings as they are, others as JSON.
  def text_of(value)
    value.is_a?(String) ? value : JSON.generate(value)
  end

  # An expectation with its placeholders replaced; expected headers and error id/status/detail
  # are strings, so a placeholder there becomes the saved value's text.
  def substitute_expect(expect, saved)
    out = substitute(expect, saved)
    %w[headers headersMatch].each do |key|
      out[key] = out[key].transform_values { |v| text_of(v) } if out[key].is_a?(Hash)
    end
    if out['error'].is_a?(Hash)
      %w[id status detail message].each { |key| out['error'][key] = text_of(out['error'][key]) if out['error'].key?(key) }
    end
    out
  end

  # The value at a dot path (`token.accessToken`, `0.event.id`) of a JSON value.
  def at_path(document, path, label)
    path.split('.').reduce(document) do |current, segment|
      if current.is_a?(Array) && segment.match?(/\A\d+\z/)
        raise "#{label}: save path #{path.inspect}: index #{segment} out of range" if segment.to_i >= current.size

        current[segment.to_i]
      elsif current.is_a?(Hash) && current.key?(segment)
        current[segment]
      else
        raise "#{label}: save path #{path.inspect}: no #{segment.inspect} in #{current.inspect}"
      end
    end
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

  # One call of a case, resolved against the SDK.
  class Call
    attr_reader :label, :data, :rpc_desc, :client

    def initialize(label, data, client, rpc_desc)
      @label = label
      @data = data
      @client = client
      @rpc_desc = rpc_desc
    end

    def expect = data['expect'] || {}
    def streaming_in? = rpc_desc.input.is_a?(GRPC::RpcDesc::Stream)
    def streaming_out? = rpc_desc.output.is_a?(GRPC::RpcDesc::Stream)
    def input = streaming_in? ? rpc_desc.input.type : rpc_desc.input
    def output = streaming_out? ? rpc_desc.output.type : rpc_desc.output
  end

  # What one call produced: result (a message, or the Array of streamed messages), error, headers.
  Outcome = Struct.new(:result, :error, :headers)

  def resolve_call(sdk, file_service, label, data)
    unknown = data.keys - CALL_KEYS
    raise "#{label}: unsupported call keys #{unknown}" unless unknown.empty?

    expect = data['expect'] || {}
    unknown = expect.keys - EXPECT_KEYS
    raise "#{label}: unsupported expect keys #{unknown}" unless unknown.empty?

    bodies = BODY_KEYS.select { |k| expect.key?(k) }
    raise "#{label}: expect has more than one of #{bodies}" if bodies.size > 1
    raise "#{label}: expect needs a response, responses or error" if bodies.empty? && !expect.key?('error')

    client = find_client(sdk, data['service'] || file_service)
    call = Call.new(label, data, client, client.class::SERVICE.rpc_descs.fetch(data.fetch('method').to_sym))
    if !bodies.empty? && expect.key?('error') && !(call.streaming_out? && bodies.first.start_with?('responses'))
      raise "#{label}: only streaming calls pair responses with error"
    end
    raise "#{label}: streaming responses are compared with responses" if call.streaming_out? && bodies.first&.start_with?('response') && !bodies.first.start_with?('responses')
    raise "#{label}: responses are for streaming responses" if !call.streaming_out? && bodies.first&.start_with?('responses')
    raise "#{label}: take is for server-streaming and bidi calls" if data.key?('take') && !call.streaming_out?
    raise "#{label}: a call with take succeeds; no error" if data.key?('take') && expect.key?('error')
    raise "#{label}: streaming requests are given as requests (an array)" if call.streaming_in? && (data.key?('request') || !data['requests'].is_a?(Array))
    raise "#{label}: requests is for client-streaming and bidi calls" if !call.streaming_in? && data.key?('requests')

    call
  end

  # Runs one call in the current thread; never raises for the call's own failure.
  def run_call(call, saved)
    data = call.data
    items = data.key?('requests') ? data['requests'] : [data['request'] || {}]
    requests = substitute(items, saved).map { |item| call.input.decode_json(JSON.generate(item)) }
    kwargs = {}
    kwargs[:timeout] = data['timeoutMs'] / 1000.0 if data.key?('timeoutMs')
    if data['metadata'] && !data['metadata'].empty?
      kwargs[:metadata] = substitute(data['metadata'], saved).transform_values { |v| text_of(v) }
    end
    headers = {}
    kwargs[:on_headers] = ->(h) { h.each { |k, v| headers[k] = v } }
    kwargs[:on_trailers] = ->(h) { h.each { |k, v| headers[k] = v unless headers.key?(k) } }
    timer = nil
    if data.key?('cancelAfterMs')
      token = Micro::Cancellation.new
      kwargs[:cancellation] = token
      timer = Thread.new do
        sleep(data['cancelAfterMs'] / 1000.0)
        token.cancel
      end
    end
    outcome = Outcome.new(call.streaming_out? ? [] : nil, nil, headers)
    rpc = find_method(call.client, data.fetch('method'))
    begin
      argument = call.streaming_in? ? requests.each : requests.first
      if call.streaming_out?
        take = data['take']
        unless take&.zero?
          rpc.call(argument, **kwargs).each do |message|
            outcome.result << message
            break if take && outcome.result.size >= take # leaving the iteration cancels the call
          end
        end
      else
        outcome.result = rpc.call(argument, **kwargs)
      end
    rescue Micro::Error => e
      outcome.error = e
      # A failed call's headers come in a trailers-only response: count the trailers as headers.
      e.metadata.each { |k, v| headers[k] = v unless headers.key?(k) }
    ensure
      timer&.kill
    end
    outcome
  end
end

# One test class per case file, each with its own server.
Conformance::CASE_FILES.each_with_index do |path, file_index|
  doc = Conformance::DOCUMENTS[path]
  group = File.basename(path, '.json')
  if doc.is_a?(String)
    # A case file the runner cannot read counts as one failed case named after the file.
    reason = doc
    klass = Class.new(Minitest::Test) do
      define_method(:test_readable) do
        Conformance.record(group, File.basename(path), false)
        flunk "#{File.basename(path)}: #{reason}"
      end
    end
    Object.const_set("Conformance#{file_index}UnreadableTest", klass)
    next
  end
  file_service = doc.fetch('service', '')
  klass = Class.new(Minitest::Test) do
    i_suck_and_my_tests_are_order_dependent! # cases of a file build on each other, in file order

    define_singleton_method(:server) do
      @server ||= Conformance.start_server((doc['server'] || {}).fetch('args', []).map(&:to_s))
    end

    # Values saved by the cases of this file.
    define_singleton_method(:saved) do
      @saved ||= {}
    end

    define_method(:check_call) do |call, outcome, saved|
      label = call.label
      expect = Conformance.substitute_expect(call.expect, saved)
      result = outcome.result
      error = outcome.error
      headers = outcome.headers
      got_all = call.streaming_out? ? result.map { |m| Conformance.as_json(m) } : nil
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
      else
        assert_nil error, "#{label}: unexpected error #{error.inspect} after #{got_all.inspect}"
      end
      if expect.key?('response')
        assert_kind_of Google::Protobuf::MessageExts, result, "#{label}: expected one response"
        assert_equal Conformance.normalized(expect['response'], call.output), Conformance.as_json(result),
                     "#{label}: response"
      elsif expect.key?('responseIncludes')
        assert_kind_of Google::Protobuf::MessageExts, result, "#{label}: expected one response"
        want = Conformance.normalized(expect['responseIncludes'], call.output)
        got = Conformance.as_json(result)
        assert Conformance.includes?(got, want), "#{label}: response #{got} does not include #{want}"
      elsif expect.key?('responses')
        assert_equal expect['responses'].map { |r| Conformance.normalized(r, call.output) }, got_all, "#{label}: responses"
      elsif expect.key?('responsesIncludes')
        want = expect['responsesIncludes'].map { |r| Conformance.normalized(r, call.output) }
        assert Conformance.includes?(got_all, want), "#{label}: responses #{got_all} do not include #{want}"
      end
      (expect['headers'] || {}).each do |key, value|
        assert_equal value, headers[key], "#{label}: header #{key.inspect} (#{headers})"
      end
      (expect['headersMatch'] || {}).each do |key, pattern|
        got = headers[key]
        assert got.is_a?(String) && got.match?(Regexp.new(pattern)),
               "#{label}: header #{key.inspect} is #{got.inspect}, expected a match of #{pattern.inspect}"
      end
      return unless call.data.key?('save') && error.nil?

      document = call.streaming_out? ? got_all : Conformance.as_json(result)
      call.data['save'].each { |name, dot_path| saved[name] = Conformance.at_path(document, dot_path, label) }
    end

    doc.fetch('cases', []).each_with_index do |data, index|
      name = data['name'] || "case #{index}"
      define_method(format('test_%04d_%s', index, name.gsub(/[^A-Za-z0-9]+/, '_'))) do
        passed = false
        begin
          unknown = doc.keys - Conformance::FILE_KEYS
          raise "unsupported file keys #{unknown}" unless unknown.empty?

          saved = self.class.saved
          options = Conformance.client_options(Conformance.substitute(data['client'], saved))
          sdk = Micro::Client.new(address: self.class.server.address, **options)
          pending = []
          begin
            data.fetch('calls', []).each_with_index do |call_data, call_index|
              label = "#{File.basename(path)} #{name.inspect} call #{call_index} (#{call_data['service'] || file_service}.#{call_data['method']})"
              call = Conformance.resolve_call(sdk, file_service, label, call_data)
              if call_data['parallel']
                thread = Thread.new { Conformance.run_call(call, saved) }
                thread.report_on_exception = false
                pending << [call, thread]
              else
                check_call(call, Conformance.run_call(call, saved), saved)
              end
            end
            pending.each do |call, thread|
              raise "#{call.label}: did not finish within 120 s" if thread.join(120).nil?

              check_call(call, thread.value, saved)
            end
          ensure
            sdk.close # cancels whatever still runs
            pending.each { |_, thread| thread.join(10) }
          end
          passed = true
        ensure
          Conformance.record(group, name, passed)
        end
      end
    end
  end
  const_name = "Conformance#{file_index}#{File.basename(path, '.json').gsub(/[^A-Za-z0-9]/, '_').capitalize}Test"
  Object.const_set(const_name, klass)
end

Minitest.after_run { Conformance.write_results }

if Conformance::SDK == 'core'
  # The runner must have something to run.
  class ConformanceFilesTest < Minitest::Test
    def test_case_files_exist
      refute_empty Conformance::ALL_CASE_FILES, "no conformance case files (*.json) in #{Conformance::CASES_DIR}"
    end
  end
end
