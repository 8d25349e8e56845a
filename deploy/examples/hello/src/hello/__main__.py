"""hello: the pyservice example app.

python -m hello --config PATH web      serve "hello VERSION" on 127.0.0.1:PORT
python -m hello --config PATH report   print a line and exit
"""
import http.server
import sys

from hello import VERSION


def read_config(path):
    # config.yaml is written by the agent; flat `key: value` lines are all we
    # need (no YAML library offline).
    values = {}
    with open(path) as config:
        for line in config:
            key, _, value = line.partition(":")
            values[key.strip()] = value.strip().strip("'\"")
    return values


class Handler(http.server.BaseHTTPRequestHandler):
    greeting = ""

    def do_GET(self):
        if self.path not in ("/", "/healthz"):
            self.send_error(404)
            return
        text = f"hello {VERSION}: {self.greeting}" if self.greeting else f"hello {VERSION}"
        body = f"{text}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main(argv):
    if len(argv) != 3 or argv[0] != "--config":
        raise SystemExit("usage: python -m hello --config PATH web|report")
    config = read_config(argv[1])
    if argv[2] == "web":
        if "greeting_file" in config:
            try:
                with open(config["greeting_file"]) as greeting:
                    Handler.greeting = greeting.read().strip()
            except OSError as error:
                Handler.greeting = f"(cannot read the greeting file: {error.strerror})"
        server = http.server.ThreadingHTTPServer(("127.0.0.1", int(config["port"])), Handler)
        print(f"hello {VERSION} serving on port {server.server_port}", flush=True)
        server.serve_forever()
    elif argv[2] == "report":
        print(f"hello {VERSION} report", flush=True)
    else:
        raise SystemExit(f"hello: unknown command {argv[2]}")


if __name__ == "__main__":
    main(sys.argv[1:])
