# frozen_string_literal: true

# The reference server for the Ruby runners: `$MICRO_GEN_BIN serve --address 127.0.0.1:0
# --test-hooks [args...]`, started on a free port.

module Conformance
  SERVER_START_TIMEOUT = 60

  # A running `micro-gen serve --test-hooks` on a free port.
  class Server
    attr_reader :address

    def initialize(binary, args = [])
      @stdout_r, stdout_w = IO.pipe
      @pid = Process.spawn(binary, 'serve', '--address', '127.0.0.1:0', '--test-hooks', *args,
                           in: File::NULL, out: stdout_w, err: $stderr)
      stdout_w.close
      @address = wait_listening
      # Keep draining stdout so the server never blocks on a full pipe.
      @drain = Thread.new { @stdout_r.each_line { nil } }
    end

    def stop
      return if @pid.nil?

      begin
        Process.kill('TERM', @pid)
        Process.wait(@pid)
      rescue Errno::ESRCH, Errno::ECHILD
        nil
      end
      @pid = nil
    end

    private

    def wait_listening
      seen = +''
      deadline = Time.now + SERVER_START_TIMEOUT
      while Time.now < deadline
        ready = IO.select([@stdout_r], nil, nil, deadline - Time.now)
        break if ready.nil?

        line = @stdout_r.gets
        break if line.nil?

        seen << line
        match = line.match(/listening on (\S+)/)
        return match[1] if match
      end
      stop
      raise "the server printed no 'listening on HOST:PORT' line within #{SERVER_START_TIMEOUT} s; stdout: #{seen.inspect}"
    end
  end

  # Starts a server from $MICRO_GEN_BIN with `args` appended, stopped when minitest finishes.
  def self.start_server(args = [])
    binary = ENV.fetch('MICRO_GEN_BIN') { raise 'MICRO_GEN_BIN is not set: it must name the micro-gen binary' }
    server = Server.new(binary, args)
    Minitest.after_run { server.stop }
    server
  end
end
