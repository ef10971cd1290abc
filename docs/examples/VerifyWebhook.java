// Verify a gateway webhook (Java 11+, JDK only).
//
//     java VerifyWebhook.java <secret> <Gateway-Signature header> <file with the raw body>
//
// exits 0 when the signature is valid, 1 when it is not (a malformed header is simply not valid).

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class VerifyWebhook {
    static final long TOLERANCE_SECONDS = 300;
    static final int MAX_HEADER = 1000; // one timestamp and one or two signatures: far less than this
    static final Pattern PRINTABLE_ASCII = Pattern.compile("[\\x20-\\x7e]*");
    static final Pattern TIMESTAMP = Pattern.compile("[0-9]{1,18}");
    static final Pattern SIGNATURE = Pattern.compile("[0-9a-f]{64}"); // lower-case hex of HMAC-SHA256

    /** True when one v1 signature matches HMAC-SHA256(secret, "<t>.<raw body>") and t is recent; anything
     *  malformed (non-ASCII, a missing or repeated t, a signature that is not 64 hex digits) is false. */
    public static boolean verify(String header, byte[] rawBody, String secret, long nowSeconds) throws Exception {
        if (header == null || header.length() > MAX_HEADER || !PRINTABLE_ASCII.matcher(header).matches()) {
            return false;
        }
        List<String> timestamps = new ArrayList<>();
        List<String> signatures = new ArrayList<>();
        for (String part : header.split(",", -1)) {
            String[] kv = part.trim().split("=", 2);
            if (kv.length != 2 || kv[0].isEmpty()) return false;
            if (kv[0].equals("t")) timestamps.add(kv[1]);
            else if (kv[0].equals("v1")) signatures.add(kv[1]);
        }
        if (timestamps.size() != 1 || !TIMESTAMP.matcher(timestamps.get(0)).matches()) return false;
        if (signatures.isEmpty()) return false;
        for (String s : signatures) {
            if (!SIGNATURE.matcher(s).matches()) return false;
        }
        String timestamp = timestamps.get(0);
        if (Math.abs(nowSeconds - Long.parseLong(timestamp)) > TOLERANCE_SECONDS) return false;

        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        mac.update((timestamp + ".").getBytes(StandardCharsets.US_ASCII));
        byte[] digest = mac.doFinal(rawBody);
        StringBuilder hex = new StringBuilder();
        for (byte b : digest) hex.append(String.format("%02x", b));
        byte[] expected = hex.toString().getBytes(StandardCharsets.US_ASCII);
        boolean ok = false;
        for (String s : signatures) {
            // constant-time comparison
            ok |= MessageDigest.isEqual(expected, s.getBytes(StandardCharsets.US_ASCII));
        }
        return ok;
    }

    public static void main(String[] args) throws Exception {
        byte[] body = Files.readAllBytes(Path.of(args[2]));
        boolean ok = verify(args[1], body, args[0], System.currentTimeMillis() / 1000);
        System.exit(ok ? 0 : 1);
    }
}
