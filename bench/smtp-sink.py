"""aiosmtpd sink for bench/smtp-throughput.js: accepts every message and keeps it in memory.

Usage: /usr/bin/python3 bench/smtp-sink.py PORT   (prints "ready" once listening)
"""
import asyncio
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self):
        self.messages = []
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        self.bytes += len(envelope.original_content)
        return "250 OK queued in memory"


def main():
    port = int(sys.argv[1])
    ctl = Controller(Sink(), hostname="127.0.0.1", port=port, data_size_limit=64 * 1024 * 1024)
    ctl.start()
    print("ready", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
