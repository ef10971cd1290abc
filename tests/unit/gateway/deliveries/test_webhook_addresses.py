"""Which webhook URLs and addresses the gateway may reach: one parser for the save and the send, the address
rules, and the guarded connection itself (resolve, check every address, connect to a checked one)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from gateway.deliveries import addresses, urls
from gateway.deliveries.addresses import AddressRefused, Kind, NetworkPolicy, checked
from gateway.settings import load

SETTINGS = load({"PAYHUB_HASH_KEY": "unit", "PUBLIC_URL": "https://gateway.example.vn"})
OWN = ipaddress.ip_address("93.184.216.34")
POLICY = NetworkPolicy(own_addresses=frozenset({OWN}), own_port=443)

# Every form of an internal address found to pass before, and their relatives: refused even for a portal that an
# operator allowed private networks.
ALWAYS_REFUSED = [
    ("http://127.0.0.1:9/", Kind.LOOPBACK),
    ("http://127.0.1.3:9/", Kind.LOOPBACK),
    ("http://[::1]:9/", Kind.LOOPBACK),
    ("http://[::ffff:127.0.0.1]:9/", Kind.LOOPBACK),
    ("http://[::ffff:7f00:1]:9/", Kind.LOOPBACK),
    ("http://[::127.0.0.1]:9/", Kind.LOOPBACK),
    ("http://[64:ff9b::7f00:1]:9/", Kind.LOOPBACK),
    ("http://[2002:7f00:1::]:9/", Kind.LOOPBACK),
    ("http://localhost:9/", Kind.LOOPBACK),
    ("http://LOCALHOST:9/", Kind.LOOPBACK),
    ("http://0.0.0.0:9/", Kind.UNSPECIFIED),
    ("http://0.1.2.3:9/", Kind.UNSPECIFIED),
    ("http://[::]:9/", Kind.UNSPECIFIED),
    ("http://169.254.169.254/latest/meta-data/", Kind.METADATA),
    ("http://[::ffff:169.254.169.254]/", Kind.METADATA),
    ("http://[fd00:ec2::254]/latest/meta-data/", Kind.METADATA),
    ("http://100.100.100.200/", Kind.METADATA),
    ("http://169.254.170.2/v2/credentials", Kind.METADATA),
    ("http://168.63.129.16/", Kind.METADATA),
    ("http://169.254.1.1/", Kind.LINK_LOCAL),
    ("http://[fe80::1]/", Kind.LINK_LOCAL),
    ("http://224.0.0.1/", Kind.MULTICAST),
    ("http://[ff02::1]/", Kind.MULTICAST),
    ("http://255.255.255.255/", Kind.MULTICAST),
    ("http://240.0.0.1/", Kind.RESERVED),
    ("http://192.0.2.2/", Kind.RESERVED),
    ("http://198.18.0.1/", Kind.RESERVED),
    ("http://[2001:db8::1]/", Kind.RESERVED),
    ("http://[64:ff9b:1::a00:5]/", Kind.RESERVED),  # local-use NAT64: 10.0.0.5 behind a translator
    ("http://[fec0::1]/", Kind.RESERVED),
    ("http://[3fff::1]/", Kind.RESERVED),
    ("http://[5f00::1]/", Kind.RESERVED),
    ("http://[4000::1]/", Kind.RESERVED),  # outside 2000::/3: no public IPv6 address is
    ("http://[64:ff9b:0:1::a00:5]/", Kind.RESERVED),
    ("http://192.0.0.8/", Kind.RESERVED),
    ("http://192.88.99.1/", Kind.RESERVED),
    ("https://93.184.216.34/", Kind.GATEWAY),
    ("http://93.184.216.34:8080/", Kind.GATEWAY),
    ("http://a.localhost:9/", Kind.UNRESOLVED),
    ("http://nowhere.invalid/", Kind.UNRESOLVED),
]
# Addresses in the forms only some parsers read (a name ending in a number): the save refuses them as unreadable,
# and were one sent, the resolver reads them as the address they mean and the check refuses that.
LEGACY = [
    ("127.1", Kind.LOOPBACK),
    ("2130706433", Kind.LOOPBACK),
    ("0x7f.1", Kind.LOOPBACK),
    ("0177.1", Kind.LOOPBACK),
    ("0177.0.0.1", Kind.LOOPBACK),
    ("0x7f000001", Kind.LOOPBACK),
    ("0", Kind.UNSPECIFIED),
]
PRIVATE = ["http://10.0.0.5/", "http://172.16.0.1/", "http://192.168.1.1/", "http://100.64.0.1/", "http://[fc00::1]/"]
PUBLIC = ["https://93.184.216.35/hooks", "http://[2606:4700:4700::1111]:8443/x", "http://8.8.8.8/"]


async def verdict(url: str, allow_private: bool, policy: NetworkPolicy = POLICY) -> Kind | None:
    found = urls.parse(url)
    try:
        await checked(found.host, found.port, policy, allow_private)
    except AddressRefused as exc:
        return exc.reason
    return None


@pytest.mark.parametrize(("url", "reason"), ALWAYS_REFUSED)
@pytest.mark.parametrize("allow_private", [False, True])
async def test_internal_addresses_are_refused_in_every_form(url: str, reason: Kind, allow_private: bool) -> None:
    assert await verdict(url, allow_private) is reason


@pytest.mark.parametrize(("host", "reason"), LEGACY)
@pytest.mark.parametrize("allow_private", [False, True])
async def test_addresses_in_legacy_forms_are_unreadable_and_refused_as_what_they_mean(
    host: str, reason: Kind, allow_private: bool
) -> None:
    with pytest.raises(urls.BadUrl, match="cannot be read"):
        urls.parse(f"http://{host}:9/")
    with pytest.raises(AddressRefused) as refused:
        await checked(host, 9, POLICY, allow_private)
    assert refused.value.reason is reason


@pytest.mark.parametrize("url", PRIVATE)
async def test_private_networks_only_for_a_portal_allowed_them(url: str) -> None:
    assert await verdict(url, allow_private=False) is Kind.PRIVATE
    assert await verdict(url, allow_private=True) is None


@pytest.mark.parametrize("url", PUBLIC)
async def test_public_addresses_are_reachable(url: str) -> None:
    assert await verdict(url, allow_private=False) is None


def test_a_listed_local_nat64_prefix_never_opens_metadata_or_loopback_behind_it() -> None:
    listed = NetworkPolicy(private_networks=(ipaddress.ip_network("64:ff9b:1::/48"),))
    behind = {"a9fe:a9fe": Kind.METADATA, "7f00:1": Kind.LOOPBACK, "a9fe:101": Kind.LINK_LOCAL}
    for low, reason in behind.items():
        assert listed.refusal(ipaddress.ip_address(f"64:ff9b:1::{low}"), 80, True) is reason
    assert listed.refusal(ipaddress.ip_address("64:ff9b:1::a00:5"), 80, True) is None  # listed, private: allowed
    assert listed.refusal(ipaddress.ip_address("64:ff9b:1::a00:5"), 80, False) is Kind.PRIVATE


@pytest.mark.parametrize(
    ("prefix", "address"),
    [
        ("64:ff9b::/96", "64:ff9b::{v4}"),  # NAT64's well-known prefix, a translator's
        ("64:ff9b:1::/48", "64:ff9b:1::{v4}"),  # local-use NAT64
        ("::ffff:0:0/96", "::ffff:{v4}"),  # IPv4-mapped
        ("2002::/16", "2002:{hex}::1"),  # 6to4
    ],
)
def test_a_listed_translation_prefix_never_opens_loopback_link_local_or_unspecified_behind_it(
    prefix: str, address: str
) -> None:
    listed = NetworkPolicy(private_networks=(ipaddress.ip_network(prefix),))
    behind = {
        "127.0.0.1": Kind.LOOPBACK,
        "169.254.169.253": Kind.LINK_LOCAL,
        "0.0.0.0": Kind.UNSPECIFIED,
        "169.254.169.254": Kind.METADATA,
    }
    for v4, reason in behind.items():
        packed = ipaddress.IPv4Address(v4).packed.hex()
        written = ipaddress.ip_address(address.format(v4=v4, hex=f"{packed[:4]}:{packed[4:]}"))
        assert listed.refusal(written, 80, True) is reason, written
    private = ipaddress.ip_address(address.format(v4="10.0.0.5", hex="0a00:0005"))
    assert listed.refusal(private, 80, True) is None  # what the operator listed it for: private, allowed
    assert listed.refusal(private, 80, False) is Kind.PRIVATE


@pytest.mark.parametrize("host", ["0x7f000001.", "127.1.", "2130706433."])
def test_an_address_in_a_legacy_form_is_unreadable_with_a_trailing_dot_too(host: str) -> None:
    with pytest.raises(urls.BadUrl, match="cannot be read"):
        urls.parse(f"http://{host}:9/")


async def test_networks_an_operator_lists_are_private_and_never_open_metadata_or_the_gateway() -> None:
    listed = NetworkPolicy(
        private_networks=(ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("169.254.0.0/16")),
        own_addresses=frozenset({ipaddress.ip_address("127.0.0.1")}),
        own_port=8000,
    )
    assert await verdict("http://127.0.0.2:9/", False, listed) is Kind.PRIVATE
    assert await verdict("http://127.0.0.2:9/", True, listed) is None
    assert await verdict("http://[::ffff:127.0.0.2]:9/", True, listed) is None
    assert await verdict("http://127.0.0.1:9000/", True, listed) is None  # the demo's receiver next to it
    assert await verdict("http://127.0.0.1:8000/", True, listed) is Kind.GATEWAY
    assert await verdict("http://localhost:8000/", True, listed) is Kind.GATEWAY
    assert await verdict("http://169.254.169.254/", True, listed) is Kind.METADATA
    assert await verdict("http://169.254.1.1/", True, listed) is None


async def test_a_name_with_any_refused_address_is_refused() -> None:
    async def mixed(host: str, port: int) -> list[addresses.Address]:
        return [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.1.2.3")]

    with pytest.raises(AddressRefused) as refused:
        await checked("portal.example.vn", 443, POLICY, False, mixed)
    assert refused.value.reason is Kind.PRIVATE
    assert await checked("portal.example.vn", 443, POLICY, True, mixed) == [
        ipaddress.ip_address("8.8.8.8"),
        ipaddress.ip_address("10.1.2.3"),
    ]


def test_the_settings_give_the_operators_networks_and_refuse_a_malformed_one() -> None:
    policy = NetworkPolicy.from_settings(
        load({"PAYHUB_HASH_KEY": "u", "WEBHOOK_PRIVATE_NETWORKS": "127.0.0.2/32, 10.9.0.0/16"})
    )
    assert policy.private_networks == (ipaddress.ip_network("127.0.0.2/32"), ipaddress.ip_network("10.9.0.0/16"))
    assert policy.own_addresses == {ipaddress.ip_address("127.0.0.1")} and policy.own_port == 8000
    assert NetworkPolicy.from_settings(SETTINGS).private_networks == ()
    with pytest.raises(Exception, match="WEBHOOK_PRIVATE_NETWORKS"):
        NetworkPolicy.from_settings(load({"PAYHUB_HASH_KEY": "u", "WEBHOOK_PRIVATE_NETWORKS": "127.0.0.300/8"}))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://portal.example.vn/x", "only http"),
        ("file:///etc/passwd", "only http"),
        ("javascript:alert(1)", "only http"),
        ("http:portal.example.vn", "only http"),
        ("http://u:p@portal.example.vn/x", "credentials"),
        ("http://u@portal.example.vn/x", "credentials"),
        ("http://:@portal.example.vn/x", "credentials"),  # an empty user and password: still sent as a header
        ("http://@portal.example.vn/x", "credentials"),
        ("http://[v1.portal.example.vn]/x", "cannot be read"),  # brackets hold an IPv6 address, nothing else
        ("http://[::1]@/", "cannot be read"),  # the sender's parser fails on these with an IndexError
        ("https://[.@@]@/p?q", "cannot be read"),
        ("http://ex\u2488ample.com/hook", "cannot be read"),  # look-alikes the sender's parser would map
        ("http://pay\uff0ebank.vn/", "cannot be read"),
        ("http://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com/", "cannot be read"),
        ("http://portal.example.vn:+80/", "cannot be read"),  # ports the sender's parser reads as numbers
        ("http://portal.example.vn:\u0968\u0966/", "cannot be read"),
        ("http://portal.example.vn:8_0/", "cannot be read"),
        ("https://portal.example.vn/x#y", "fragment"),
        ("http:///x", "no host"),
        ("http://portal.example.vn/a b", "spaces"),
        ("http://portal.example.vn/\x00", "control"),
        ("http://portal.example.vn:70000/", "port"),
        ("http://portal.example.vn:0/", "port"),
        ("http://\u2488.example/hooks", "cannot be read"),  # the invalid IDNA name that used to pass
        ("http://\ufdd0.example/", "control"),
        ("http://0177.0.0.1:9/", "cannot be read"),  # the sender's parser refuses this form of 127.0.0.1
        ("http://xn--zz.example/", "cannot be read"),
        ("http://\u0661\u0662\u0663/", "cannot be read"),
        ("http://[1.2.3.4]/", "cannot be read"),
        ("http://[::1%25eth0]/", "cannot be read"),
        ("http://%31%32%37.0.0.1/", "cannot be read"),
        ("http://" + "a" * 1995 + ".vn/", "at most"),
    ],
)
def test_refused_webhook_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(urls.BadUrl, match=reason):
        urls.parse(url)


def test_the_gateway_itself_is_recognised_by_name() -> None:
    public = "https://gateway.example.vn"
    assert urls.is_gateway(urls.parse("https://GATEWAY.example.vn:443/v1/events"), public)
    assert urls.is_gateway(urls.parse("https://gateway.example.vn./"), public)
    assert not urls.is_gateway(urls.parse("https://gateway.example.vn:8443/"), public)


@given(st.text(max_size=120))
def test_what_the_parser_accepts_the_sender_reads_the_same_way(text: str) -> None:
    for url in (text, f"http://{text}/hooks", f"https://{text}:8443/"):
        try:
            found = urls.parse(url)
        except urls.BadUrl:
            continue
        parsed = URL(url)
        assert (parsed.raw_host or "").lower() == found.host
        assert parsed.scheme == found.scheme and parsed.port == found.port
