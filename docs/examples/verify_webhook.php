<?php
// Verify a gateway webhook (PHP 7.2+, no extensions beyond the standard ones).
//
//     php verify_webhook.php <secret> <Gateway-Signature header> <file with the raw body>
//
// exits 0 when the signature is valid, 1 when it is not.
// In a web handler, read the raw body with file_get_contents('php://input') and the header with
// $_SERVER['HTTP_GATEWAY_SIGNATURE'], before any JSON decoding.

const TOLERANCE_SECONDS = 300;

function verify_gateway_webhook(string $header, string $rawBody, string $secret, ?int $now = null): bool
{
    $timestamp = null;
    $signatures = [];
    foreach (explode(',', $header) as $part) {
        $kv = explode('=', trim($part), 2);
        if (count($kv) !== 2) {
            continue;
        }
        if ($kv[0] === 't') {
            $timestamp = $kv[1];
        } elseif ($kv[0] === 'v1') {
            $signatures[] = $kv[1];
        }
    }
    if ($timestamp === null || !ctype_digit($timestamp)) {
        return false;
    }
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
