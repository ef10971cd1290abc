// Verify a gateway webhook (Java 11+, JDK only).
//
//     java VerifyWebhook.java <secret> <Gateway-Signature header> <file with the raw body>
//
// exits 0 when the signature is valid, 1 when it is not.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class VerifyWebhook {
    static final long TOLERANCE_SECONDS = 300;

    public static boolean verify(String header, byte[] rawBody, String secret, long nowSeconds) throws Exception {
        String timestamp = null;
        java.util.List<String> signatures = new java.util.ArrayList<>();
        for (String part : header.split(",")) {
            String[] kv = part.trim().split("=", 2);
            if (kv.length != 2) continue;
            if (kv[0].equals("t")) timestamp = kv[1];
            else if (kv[0].equals("v1")) signatures.add(kv[1]);
        }
        if (timestamp == null || !timestamp.matches("\\d{1,18}")) return false;
        if (Math.abs(nowSeconds - Long.parseLong(timestamp)) > TOLERANCE_SECONDS) return false;

        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        mac.update((timestamp + ".").getBytes(StandardCharsets.UTF_8));
        byte[] digest = mac.doFinal(rawBody);
        StringBuilder hex = new StringBuilder();
        for (byte b : digest) hex.append(String.format("%02x", b));
        byte[] expected = hex.toString().getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (String s : signatures) {
            // constant-time comparison
            ok |= MessageDigest.isEqual(expected, s.getBytes(StandardCharsets.UTF_8));
        }
        return ok;
    }

    public static void main(String[] args) throws Exception {
        byte[] body = Files.readAllBytes(Path.of(args[2]));
        boolean ok = verify(args[1], body, args[0], System.currentTimeMillis() / 1000);
        System.exit(ok ? 0 : 1);
    }
}
