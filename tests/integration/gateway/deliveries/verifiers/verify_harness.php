<?php
// Runs the documented PHP verifier over many headers: one header a line on stdin, one verdict a line out.
//     php verify_harness.php <verify_webhook.php> <secret> <file with the raw body> <now, unix seconds>

require $argv[1];
$body = file_get_contents($argv[3]);
foreach (explode("\n", stream_get_contents(STDIN)) as $header) {
    echo verify_gateway_webhook($header, $body, $argv[2], (int)$argv[4]) ? "valid\n" : "invalid\n";
}
