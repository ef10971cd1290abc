// Runs the documented Java verifier over many headers: one header a line on stdin, one verdict a line out.
//     java VerifyHarness <secret> <file with the raw body> <now, unix seconds>

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

public class VerifyHarness {
    public static void main(String[] args) throws Exception {
        byte[] body = Files.readAllBytes(Path.of(args[1]));
        long now = Long.parseLong(args[2]);
        String all = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
        for (String header : all.split("\n", -1)) {
            System.out.println(VerifyWebhook.verify(header, body, args[0], now) ? "valid" : "invalid");
        }
    }
}
