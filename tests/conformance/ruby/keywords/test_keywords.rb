# frozen_string_literal: true

# Loads the SDK generated from keywords.proto (escaped constants, methods and accessors) and calls
# every rpc through Micro::Client against the reference server, which does not implement the
# fixture's services: every call must reach it and fail with UNIMPLEMENTED, which proves the
# escaped Ruby names map to the right gRPC paths.
#
#   MICRO_GEN_BIN=... ruby -I<generated>/lib tests/conformance/ruby/keywords/test_keywords.rb

require 'minitest/autorun'
require 'micro'
require_relative '../server'

class KeywordsTest < Minitest::Test
  V1 = String_::End::V1

  def self.server
    @server ||= Conformance.start_server
  end

  def setup
    @client = Micro::Client.new(address: self.class.server.address, retry: nil, timeout: 10)
  end

  def teardown
    @client.close
  end

  def test_constants_are_escaped
    assert_equal 'string.end.v1.END', V1::END_.descriptor.name
    assert_equal 'string.end.v1.END.Hash', V1::END_::Hash.descriptor.name
    assert_equal 'string.end.v1.String', V1::String.descriptor.name
    assert_equal 'string.end.v1.self', V1::Self.descriptor.name
    assert_equal 1, V1::END_::Kind.resolve(:nil)
    assert_equal 1, V1::Object.resolve(:__FILE__)
    message = V1::END_.new(end: 'e', class: 'c', send: 3, object_id: 'o', initialize: 'i')
    assert_equal %w[e c o i], [message.end, message['class'], message['object_id'], message['initialize']]
    assert_equal message, V1::END_.decode(V1::END_.encode(message))
  end

  def test_accessors_are_escaped
    assert_instance_of Micro::KernelClient, @client.kernel
    assert_instance_of Micro::ChannelClient, @client.channel_
    assert_instance_of Micro::Channel, @client.channel
    assert_equal 'string.end.v1.Kernel', Micro::KernelClient::SERVICE_NAME
  end

  def unimplemented(path)
    error = assert_raises(Micro::Error) { yield }
    assert_equal 'UNIMPLEMENTED', error.code_name, "#{path}: #{error.message}"
  end

  def test_every_rpc_reaches_its_path
    kernel = @client.kernel
    string = V1::String.new(retry: 'r')
    unimplemented('End') { kernel.end_(V1::END_.new(end: 'x')) }
    unimplemented('Send') { kernel.send_({ send: 1 }).to_a }
    unimplemented('Class') { kernel.class_([V1::END_.new]) }
    unimplemented('Initialize') { kernel.initialize_([V1::Self.new(yield: true)]).to_a }
    unimplemented('Hash') { kernel.hash_(Google::Protobuf::Empty.new) }
    %i[object_id_ method_ close_ retry_ yield_].each do |name|
      unimplemented(name) { kernel.public_send(name, string) }
    end
    unimplemented('Then') { @client.channel_.then_(string) }
    unimplemented('then') { @client.channel_.then__(string) }
    # The client's own members still work.
    assert_kind_of Integer, kernel.hash
    assert_equal Micro::KernelClient, kernel.class
  end
end
