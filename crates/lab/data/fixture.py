#!/usr/bin/env python3
"""Processes that run inside the lab's network namespaces (crates/lab/src/lib.rs starts them with
`ip netns exec`). Standard library only, except `wsd-publish`, which needs the python
`wsdiscovery` package the lab installs (crates/lab/src/tools.rs) and puts on PYTHONPATH.

  listen       TCP listeners on the given ports that accept and close, or greet first and close
  wsd-publish  a WS-Discovery publisher (python wsdiscovery) with Types, Scopes and XAddrs
  wsd-probe    one multicast WS-Discovery Probe; prints each reply as a JSON line (lab self-checks
               only: the project's own discovery client is tested elsewhere)
  wsd-hostile  a hostile responder: answers every multicast Probe with junk, a truncated reply, a
               reply to someone else's Probe and a 64 KiB datagram, never with a real answer
  wsd-crowd    many WS-Discovery responders on one host: one per address of a range the lab added
               to its interface, each answering every 2005/04 multicast Probe as wsdd does (once
               per MessageID, after a random 0-500 ms, the reply sent twice) with its own endpoint
  wsd-flood    a flooder: answers every new multicast Probe (from its one address of the Probe's
               family) with junk and with ProbeMatches for many distinct endpoints, all relating
               to the Probe, paced so the prober's socket buffer keeps up
  dns          the scanner's DNS server on its own loopback (127.0.0.1:53, where its resolv.conf
               points): NXDOMAIN for *.nxdomain.lab, an empty answer (NODATA) for *.nodata.lab,
               SERVFAIL for *.servfail.lab, no reply at all for *.silent.lab, REFUSED otherwise

Nothing here chooses an address: every socket is bound to the wildcard address of the namespace it
runs in, to a WS-Discovery group on that namespace's interface, or to an address the lab gave that
namespace (wsd-crowd), so it can only ever see lab traffic.
"""

import argparse
import json
import selectors
import socket
import sys
import time
import uuid
import xml.etree.ElementTree as ET


def listen(args):
    ports = [int(p) for p in args.ports.split(",") if p]
    greeting = args.greeting.encode().decode("unicode_escape").encode("latin-1") if args.greeting else b""
    sel = selectors.DefaultSelector()
    for port in ports:
        # One dual-stack socket per port: the lab hosts with a ULA answer on both families.
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        # A deep backlog: the farm takes hundreds of connections per second; a full queue would
        # drop SYNs and turn open ports into "filtered".
        s.listen(args.backlog)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    print("listening on " + ",".join(map(str, ports)), flush=True)
    while True:
        for key, _ in sel.select():
            try:
                conn, _ = key.fileobj.accept()
            except (BlockingIOError, ConnectionAbortedError):
                continue
            try:
                if greeting:
                    conn.sendall(greeting)
            except OSError:
                pass  # the prober reset the connection before the greeting went out
            conn.close()


def wsd_publish(args):
    from wsdiscovery.publishing import ThreadedWSPublishing
    from wsdiscovery.qname import QName
    from wsdiscovery.scope import Scope

    ns, prefix, local = args.type.split(" ")
    publisher = ThreadedWSPublishing()
    publisher.start()
    publisher.publishService(
        types=[QName(ns, local, prefix)],
        scopes=[Scope(args.scope)],
        xAddrs=args.xaddrs.split(" "),
    )
    print("published", flush=True)
    while True:
        time.sleep(3600)


PROBE = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"
 xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"
 xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"><soap:Header>
<wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>
<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>
<wsa:MessageID>{mid}</wsa:MessageID></soap:Header>
<soap:Body><wsd:Probe>{types}</wsd:Probe></soap:Body></soap:Envelope>"""

NS = {
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsd": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
}


def wsd_probe(args):
    mid = "urn:uuid:" + str(uuid.uuid4())
    types = "<wsd:Types>%s</wsd:Types>" % args.types if args.types else ""
    msg = PROBE.format(mid=mid, types=types).encode()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.bind(("0.0.0.0", 0))
    # wsdd answers only multicast Probes; send twice as SOAP-over-UDP does, in case one is lost.
    for _ in range(2):
        s.sendto(msg, ("239.255.255.250", 3702))
    deadline = time.monotonic() + args.wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, (src, _) = s.recvfrom(65536)
        except socket.timeout:
            break
        try:
            root = ET.fromstring(data)
        except ET.ParseError:
            continue
        relates = root.findtext(".//wsa:RelatesTo", default="", namespaces=NS).strip()
        for m in root.iterfind(".//wsd:ProbeMatch", NS):
            print(json.dumps({
                "from": src,
                "relates_to_probe": relates == mid,
                "types": (m.findtext("wsd:Types", default="", namespaces=NS) or "").strip(),
                "xaddrs": (m.findtext("wsd:XAddrs", default="", namespaces=NS) or "").strip(),
            }), flush=True)


HOSTILE_MATCHES = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"
 xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"
 xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"
 xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"><soap:Header>
<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>
<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>
<wsa:MessageID>urn:uuid:{mid}</wsa:MessageID>
<wsa:RelatesTo>{relates}</wsa:RelatesTo></soap:Header>
<soap:Body><wsd:ProbeMatches><wsd:ProbeMatch>
<wsa:EndpointReference><wsa:Address>urn:uuid:{endpoint}</wsa:Address></wsa:EndpointReference>
<wsd:Types>wsdp:Device</wsd:Types><wsd:MetadataVersion>1</wsd:MetadataVersion>
</wsd:ProbeMatch></wsd:ProbeMatches></soap:Body></soap:Envelope>"""


def hostile_replies(probe_id):
    """What the hostile responder sends for one Probe whose MessageID is `probe_id`."""
    endpoint = str(uuid.uuid4())
    good = lambda relates: HOSTILE_MATCHES.format(mid=uuid.uuid4(), relates=relates, endpoint=endpoint).encode()
    answer = good(probe_id)
    # 64 KiB: the right RelatesTo up front, then an element nested past any sane depth. The
    # largest UDP payload over IPv4 is 65,507 bytes.
    head = answer[: answer.index(b"<soap:Body>")] + b"<soap:Body>"
    deep = head + b"<x>" * ((65507 - len(head)) // 3)
    deep += b" " * (65507 - len(deep))
    return [
        b"\x00\xff\xfe junk, not XML <<<&&&",
        answer[: len(answer) // 2],  # truncated mid-document
        good("urn:uuid:" + str(uuid.uuid4())),  # a reply to a Probe nobody sent
        deep[:65507],
    ]


def wsd_hostile(args):
    import re
    import struct

    ifindex = socket.if_nametoindex(args.interface)
    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s4.bind(("", 3702))
    s4.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                  struct.pack("4s4si", socket.inet_aton("239.255.255.250"), socket.inet_aton("0.0.0.0"), ifindex))
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s6.bind(("::", 3702))
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                  socket.inet_pton(socket.AF_INET6, "ff02::c") + struct.pack("@I", ifindex))
    sel = selectors.DefaultSelector()
    for s in (s4, s6):
        sel.register(s, selectors.EVENT_READ)
    message_id = re.compile(rb"MessageID[^>]*>\s*([^<\s]+)\s*<")
    print("hostile on 3702", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            try:
                data, src = s.recvfrom(65536)
            except OSError:
                continue
            if b"Probe" not in data or b"ProbeMatches" in data:
                continue
            m = message_id.search(data)
            if not m:
                continue
            replies = hostile_replies(m.group(1).decode("ascii", "replace"))
            sent = 0
            for d in replies:
                try:
                    s.sendto(d, src)
                    sent += 1
                except OSError:
                    pass  # the prober is gone, or its ICMP came back: keep serving
            print("hostile: %d of %d datagrams to %s, largest %d bytes" % (
                sent, len(replies), src[0], max(map(len, replies))), flush=True)


# The shape of Debian wsdd 0.7.0's reply (crates/core/src/discovery/samples/wsdd-0.7.0.xml): one
# line, the namespaces on the envelope, an AppSequence, one ProbeMatch without XAddrs.
CROWD_MATCHES = (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope'
    ' xmlns:soap="http://www.w3.org/2003/05/soap-envelope"'
    ' xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
    ' xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"'
    ' xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"'
    ' xmlns:pub="http://schemas.microsoft.com/windows/pub/2005/07"><soap:Header>'
    '<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>'
    '<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>'
    '<wsa:MessageID>urn:uuid:{mid}</wsa:MessageID><wsa:RelatesTo>{relates}</wsa:RelatesTo>'
    '<wsd:AppSequence InstanceId="{instance}" SequenceId="urn:uuid:{sequence}" MessageNumber="{number}" />'
    '</soap:Header><soap:Body><wsd:ProbeMatches><wsd:ProbeMatch><wsa:EndpointReference>'
    '<wsa:Address>urn:uuid:{endpoint}</wsa:Address></wsa:EndpointReference>'
    '<wsd:Types>wsdp:Device pub:Computer</wsd:Types><wsd:MetadataVersion>1</wsd:MetadataVersion>'
    '</wsd:ProbeMatch></wsd:ProbeMatches></soap:Body></soap:Envelope>'
)

DISCOVERY_2005 = b"http://schemas.xmlsoap.org/ws/2005/04/discovery"


def crowd_endpoint(n):
    """The endpoint of the crowd's `n`th responder (from 1); tests/lab_discovery.rs expects it."""
    return "6d3a1f0e-5c2b-4e8a-9f71-c0%010x" % n


def join_groups(interface, v4=True, v6=True):
    """Sockets on UDP 3702 that read the WS-Discovery multicast groups on `interface` only."""
    import struct

    ifindex = socket.if_nametoindex(interface)
    socks = []
    if v4:
        s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s4.bind(("239.255.255.250", 3702))
        s4.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                      struct.pack("4s4si", socket.inet_aton("239.255.255.250"), socket.inet_aton("0.0.0.0"), ifindex))
        socks.append(s4)
    if v6:
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s6.bind(("ff02::c", 3702, 0, ifindex))
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                      socket.inet_pton(socket.AF_INET6, "ff02::c") + struct.pack("@I", ifindex))
        socks.append(s6)
    return socks


def read_probe(s):
    """A multicast Probe read from `s`: (datagram, sender, MessageID), or None for anything else."""
    import re

    try:
        data, src = s.recvfrom(65536)
    except OSError:
        return None
    if b"Probe" not in data or b"ProbeMatches" in data:
        return None
    m = re.search(rb"MessageID[^>]*>\s*([^<\s]+)\s*<", data)
    if not m:
        return None
    return data, src, m.group(1).decode("ascii", "replace")


def wsd_crowd(args):
    import heapq
    import ipaddress
    import random

    first = ipaddress.ip_address(args.first)
    family = socket.AF_INET6 if first.version == 6 else socket.AF_INET
    senders = []
    for n in range(args.count):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((str(first + n), 0))
        senders.append(s)
    (probes,) = join_groups(args.interface, v4=family == socket.AF_INET, v6=family == socket.AF_INET6)
    sel = selectors.DefaultSelector()
    sel.register(probes, selectors.EVENT_READ)
    instance = int(time.time())
    sequence = [str(uuid.uuid4()) for _ in senders]
    number = [0] * len(senders)
    answered = set()
    due = []  # (when, order, responder, datagram, destination)
    order = 0
    print("crowd of %d on %s from %s" % (len(senders), args.interface, first), flush=True)
    while True:
        timeout = max(0.0, due[0][0] - time.monotonic()) if due else None
        if sel.select(timeout):
            probe = read_probe(probes)
            # 2005/04 only, each Probe once (wsdd drops a MessageID it has seen).
            if probe and DISCOVERY_2005 in probe[0] and probe[2] not in answered:
                data, src, mid = probe
                answered.add(mid)
                now = time.monotonic()
                for i in range(len(senders)):
                    number[i] += 1
                    reply = CROWD_MATCHES.format(
                        mid=uuid.uuid4(), relates=mid, instance=instance, sequence=sequence[i],
                        number=number[i], endpoint=crowd_endpoint(i + 1)).encode()
                    # APP_MAX_DELAY: a random wait of up to 500 ms; then a second copy.
                    at = now + random.uniform(0, 0.5)
                    for when in (at, at + random.uniform(0.05, 0.25)):
                        heapq.heappush(due, (when, order, i, reply, src))
                        order += 1
                print("crowd: Probe %s from %s, %d replies due" % (mid, src[0], 2 * len(senders)), flush=True)
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, i, reply, dst = heapq.heappop(due)
            try:
                senders[i].sendto(reply, dst)
            except OSError as e:
                print("crowd: %s: %s" % (first + i, e), flush=True)


def wsd_flood(args):
    import random

    socks = join_groups(args.interface)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    seen = set()
    junk = b"\x00\xff\xfe flood, not XML <<<&&&"
    print("flooder on 3702", flush=True)
    while True:
        for key, _ in sel.select():
            probe = read_probe(key.fileobj)
            if not probe or probe[2] in seen:
                continue
            data, src, mid = probe
            seen.add(mid)
            datagrams = [junk] * args.junk + [
                HOSTILE_MATCHES.format(mid=uuid.uuid4(), relates=mid, endpoint=uuid.UUID(int=n + 1)).encode()
                for n in range(args.endpoints)
            ]
            random.shuffle(datagrams)
            sent = 0
            # In bursts, paced: a flood the reader keeps up with, so what it costs the reader is
            # its budget, not datagrams the kernel drops for a full buffer.
            for k in range(0, len(datagrams), args.burst):
                for d in datagrams[k:k + args.burst]:
                    try:
                        key.fileobj.sendto(d, src)
                        sent += 1
                    except OSError:
                        pass
                time.sleep(0.005)
            print("flood: %d of %d datagrams to %s for %s" % (sent, len(datagrams), src[0], mid), flush=True)


def dns(args):
    # A query is a 12-byte header, then QNAME as length-prefixed labels, QTYPE and QCLASS. The
    # reply repeats the header with QR set and the question, and carries no answer at all: every
    # case here is a failure whose code is the point.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 53))
    print("dns ready", flush=True)
    while True:
        q, src = s.recvfrom(512)
        if len(q) < 12:
            continue
        labels, i = [], 12
        while i < len(q) and q[i] != 0:
            n = q[i]
            labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace").lower())
            i += 1 + n
        question_end = i + 5  # the root label, QTYPE, QCLASS
        name = ".".join(labels)
        if name.endswith(".silent.lab"):
            # Said, so that a case can act while a lookup is surely under way.
            print("dns silent %s" % name, flush=True)
            continue
        rcode = 5  # REFUSED: not ours
        if name.endswith(".nxdomain.lab"):
            rcode = 3
        elif name.endswith(".nodata.lab"):
            rcode = 0
        elif name.endswith(".servfail.lab"):
            rcode = 2
        flags = 0x8000 | 0x0400 | (q[2] & 0x01) << 8 | rcode  # QR, AA, RD copied, RCODE
        header = q[0:2] + flags.to_bytes(2, "big") + b"\x00\x01" + b"\x00\x00" * 3
        s.sendto(header + q[12:question_end], src)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("listen")
    lp.add_argument("--ports", required=True, help="comma-separated TCP ports")
    lp.add_argument("--greeting", help="sent to every client before closing (\\r\\n escapes allowed)")
    lp.add_argument("--backlog", type=int, default=4096)
    pp = sub.add_parser("wsd-publish")
    pp.add_argument("--type", required=True, help="'NAMESPACE PREFIX LOCALNAME'")
    pp.add_argument("--scope", required=True)
    pp.add_argument("--xaddrs", required=True, help="space-separated URIs")
    qp = sub.add_parser("wsd-probe")
    qp.add_argument("--types", default="", help="Types text, e.g. wsdp:Device; empty for a type-less Probe")
    qp.add_argument("--wait", type=float, default=3.0, help="seconds to collect replies")
    hp = sub.add_parser("wsd-hostile")
    hp.add_argument("--interface", required=True, help="where to join the WS-Discovery groups")
    cp = sub.add_parser("wsd-crowd")
    cp.add_argument("--interface", required=True, help="where to join the WS-Discovery group")
    cp.add_argument("--first", required=True, help="the first address of the range (on the interface)")
    cp.add_argument("--count", type=int, required=True, help="how many responders (consecutive addresses)")
    fp = sub.add_parser("wsd-flood")
    fp.add_argument("--interface", required=True, help="where to join the WS-Discovery groups")
    fp.add_argument("--junk", type=int, default=100, help="junk datagrams per Probe")
    fp.add_argument("--endpoints", type=int, default=300, help="distinct endpoints answering each Probe")
    fp.add_argument("--burst", type=int, default=20, help="datagrams sent per 5 ms")
    sub.add_parser("dns")
    args = p.parse_args()
    commands = {"listen": listen, "wsd-publish": wsd_publish, "wsd-probe": wsd_probe,
                "wsd-hostile": wsd_hostile, "wsd-crowd": wsd_crowd, "wsd-flood": wsd_flood, "dns": dns}
    commands[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
