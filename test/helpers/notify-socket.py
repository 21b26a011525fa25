#!/usr/bin/env python3
"""A stand-in for systemd's notify socket: binds a unix datagram socket at argv[1] and prints each
datagram as one JSON line on stdout (Node has no unix datagram sockets)."""
import json
import os
import socket
import sys

path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
print(json.dumps({"bound": path}), flush=True)
while True:
    data = sock.recv(65536)
    print(json.dumps({"message": data.decode("utf-8", "replace")}), flush=True)
