<?php
// Verify a gateway webhook (PHP 7.2+, no extensions beyond the standard ones).
//
//     php verify_webhook.php <secret> <Gateway-Signature header> <file with the raw body>
//
// exits 0 when the signature is valid, 1 when it is not (a malformed header is simply not valid).
// In a web handler, read the raw body with file_get_contents('php://input') and the header with
// $_SERVER['HTTP_GATEWAY_SIGNATURE'] ?? '', before any JSON decoding.

const TOLERANCE_SECONDS = 300;
const MAX_HEADER = 1000; // one timestamp and one or two signatures: far less than this

// True when one v1 signature matches HMAC-SHA256(secret, "<t>.<raw body>") and t is recent; anything malformed
// (non-ASCII, a missing or repeated t, a signature that is not 64 hex digits) is false.
function verify_gateway_webhook(string $header, string $rawBody, string $secret, ?int $now = null): bool
{
    if (strlen($header) > MAX_HEADER || !preg_match('/\A[\x20-\x7e]*\z/', $header)) {
        return false;
    }
    $timestamps = [];
    $signatures = [];
    foreach (explode(',', $header) as $part) {
        $kv = explode('=', trim($part, ' '), 2);
        if (count($kv) !== 2 || $kv[0] === '') {
            return false;
        }
        if ($kv[0] === 't') {
            $timestamps[] = $kv[1];
        } elseif ($kv[0] === 'v1') {
            $signatures[] = $kv[1];
        }
    }
    if (count($timestamps) !== 1 || !preg_match('/\A[0-9]{1,18}\z/', $timestamps[0])) {
        return false;
    }
    if (count($signatures) === 0) {
        return false;
    }
    foreach ($signatures as $signature) {
        if (!preg_match('/\A[0-9a-f]{64}\z/', $signature)) {
            return false;
        }
    }
    $timestamp = $timestamps[0];
    if (abs(($now ?? time()) - (int)$timestamp) > TOLERANCE_SECONDS) {
        return false;
    }
    $expected = hash_hmac('sha256', $timestamp . '.' . $rawBody, $secret);
    foreach ($signatures as $signature) {
        if (hash_equals($expected, $signature)) {
            return true;
        }
    }
    return false;
}

if (PHP_SAPI === 'cli' && isset($argv) && realpath($argv[0]) === __FILE__) {
    exit(verify_gateway_webhook($argv[2], file_get_contents($argv[3]), $argv[1]) ? 0 : 1);
}
