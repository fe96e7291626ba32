# frozen_string_literal: true

# Per-call latency of the Ruby SDK's high-level client against the raw generated stub.
#
# High level: `Micro::Client.new(address: ...).store.read(...)` (deadline, metadata, retry policy,
# Micro::Error conversion). Raw: `Store::Store::Stub.new(address, :this_channel_is_insecure).read`
# from the SDK's store_services_pb.rb (as grpc_tools_ruby_protoc generates it). Each has its own
# channel. Sequential unary calls, interleaved in batches (high, raw, raw, high, ...) after a warm-up
# batch; prints one JSON line: the median per-call latency of each in microseconds and the ratio
# high/raw. `raw_deadline_us` (not in the ratio) is the raw stub with the SDK's default 30 s deadline:
# the cost of having a deadline at all, apart from the SDK's wrapper.
#
# Usage: ruby -I SDK/lib bench_sdk.rb ADDRESS [CALLS] [BATCHES]

require 'json'
require 'micro'
require 'micro/store/store_services_pb'

KEY = 'sdk-bench-key'

address = ARGV.fetch(0)
calls = Integer(ARGV.fetch(1, '4000'))
batches = [Integer(ARGV.fetch(2, '20')), 1].max
per_batch = (calls + batches - 1) / batches

client = Micro::Client.new(address: address)
stub = Store::Store::Stub.new(address, :this_channel_is_insecure)
stub.write(Store::WriteRequest.new(record: Store::Record.new(key: KEY, value: 'v' * 64)))
request = Store::ReadRequest.new(key: KEY)
store = client.store

high = lambda do
  raise 'expected one record' unless store.read(request).records.size == 1
end
raw = lambda do
  raise 'expected one record' unless stub.read(request).records.size == 1
end

raw_deadline = lambda do
  raise 'expected one record' unless stub.read(request, deadline: Time.now + 30).records.size == 1
end

samples = { high => [], raw => [], raw_deadline => [] }
(0..batches).each do |batch| # batch 0 warms both up and is not recorded
  (batch.even? ? [high, raw, raw_deadline] : [raw_deadline, raw, high]).each do |fn|
    out = samples[fn]
    per_batch.times do
      t = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
      fn.call
      out << (Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - t) if batch.positive?
    end
  end
end
median = ->(xs) { xs.sort[xs.size / 2] / 1000.0 }
high_us = median.call(samples[high])
raw_us = median.call(samples[raw])
puts JSON.generate(lang: 'ruby', high: 'Micro::Client#store.read', raw: 'Store::Store::Stub#read',
                   calls: samples[high].size, high_us: high_us, raw_us: raw_us,
                   raw_deadline_us: median.call(samples[raw_deadline]), ratio: high_us / raw_us)
client.close
