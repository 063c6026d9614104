"""A loopback HTTP server for the tests of image URLs: each way an image URL goes wrong."""

import contextlib
import http.server
import threading
import time


class ImageServer(http.server.BaseHTTPRequestHandler):
    """Loopback answers for each way an image URL goes wrong."""

    photo = b""

    def do_GET(self):
        if self.path == "/photo.jpg":
            self._answer(200, "image/jpeg", self.photo)
        elif self.path == "/moved.jpg":
            self.send_response(302)
            self.send_header("Location", "/photo.jpg")
            self.end_headers()
        elif self.path == "/loop.jpg":
            self.send_response(302)
            self.send_header("Location", "/loop.jpg")
            self.end_headers()
        elif self.path == "/slow.jpg":
            time.sleep(3)
            self._answer(200, "image/jpeg", self.photo)
        elif self.path == "/page.jpg":
            self._answer(200, "text/html", b"<html>not a photo</html>")
        elif self.path == "/lies.jpg":
            self._answer(200, "image/jpeg", b"<html>not a photo</html>")
        elif self.path == "/10gb.jpg":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(10 * 2**30))
            self.end_headers()
            with contextlib.suppress(ConnectionError):  # the client hangs up, as it should
                self.wfile.write(self.photo)
        else:
            self._answer(404, "text/plain", b"no such image")

    def _answer(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def image_server_running(photo: bytes):
    """A loopback HTTP server (127.0.0.1 only), shut down on leaving."""
    ImageServer.photo = photo
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ImageServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
