# storm-lib.sh — helpers shared by bench.sh and soak.sh (sourced, not run).
# The sourcing script defines die() and $work (where the *.log files are).

# free_port prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_ready URL: polls until URL answers 2xx, for at most 30 s.
wait_ready() {
  local url=$1 i
  for i in $(seq 1 300); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  die "$url did not become ready; see $work/*.log"
}

# secs DURATION: "30s", "1m", "1m30s" -> whole seconds.
secs() {
  python3 -c 'import re,sys; u={"ms":0.001,"s":1,"m":60,"h":3600}; print(int(sum(float(n)*u[x] for n,x in re.findall(r"([\d.]+)(ms|s|m|h)", sys.argv[1]))))' "$1"
}
