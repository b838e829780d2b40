#!/usr/bin/env bash
# Writes the seed inputs of every fuzz target into fuzz/corpus/<target>/: the wire bodies of the
# provider crates' tests/fixtures (each crate's fixtures/README.md says which page of the
# provider's documentation each comes from), and headers, URLs and texts in the formats those
# pages document, each behind the selector byte of the sub-parser it is for (the selectors are
# listed in the documentation of each function of crates/fuzz-targets). The secrets, keys and
# times are the ones the targets use. Run it from anywhere; docs/fuzzing.md says when.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=fuzz/corpus
fixtures=crates

# seed TARGET SELECTOR NAME [FILE]: the selector byte, then FILE's bytes (or stdin's).
seed() {
  local target=$1 selector=$2 name=$3 file=${4:--}
  mkdir -p "$corpus/$target"
  { printf "\\x$(printf %02x "$selector")"; cat "$file"; } > "$corpus/$target/seed-$name"
}
# text TARGET SELECTOR NAME TEXT: like seed, with TEXT as the bytes (printf escapes allowed).
text() { printf -- "$4" | seed "$1" "$2" "$3"; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
hmac_hex() { printf %s "$2" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1; }

# ---------------------------------------------------------------------------- core_parsers
text core_parsers 0 form-plus-escape 'b=x+y%%26z'
text core_parsers 0 form-session 'session_id=b2bca2bcd3b64a32a7da0766df59a7d2'
text core_parsers 0 form-bad-escape 'a%%2'
text core_parsers 1 decimal-2 '550.60'
text core_parsers 1 decimal-trailing '5100.00'
text core_parsers 1 decimal-negative '-3'
text core_parsers 1 decimal-json '"273.005"'
text core_parsers 2 money-eur '\x0012.50'       # Currency::ALL[0] is EUR
text core_parsers 2 money-xof '\x125000'        # ALL[18] is XOF
text core_parsers 2 money-kwd '\x1b1.234'       # ALL[27] is KWD
text core_parsers 3 retry-seconds '120'
text core_parsers 3 retry-imf 'Wed, 21 Oct 2015 07:28:00 GMT'
text core_parsers 3 retry-rfc850 'Sunday, 06-Nov-94 08:49:37 GMT'
text core_parsers 3 retry-asctime 'Sun Nov  6 08:49:37 1994'
text core_parsers 4 xff-v4 '\x00203.0.113.7, 10.0.0.1'
text core_parsers 4 xff-v6-port '\x00[2001:db8::1]:443, 198.51.100.2\n10.0.0.2'
text core_parsers 4 xff-untrusted '\x021.2.3.4'
text core_parsers 5 net-v4 '10.0.0.0/8'
text core_parsers 5 net-v6 '2001:db8::/32'
text core_parsers 5 net-mapped '::ffff:10.0.0.7'
text core_parsers 6 url-query 'https://shop.example/banq/webhook?token=9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9'
text core_parsers 6 url-path '/paylican/webhook/0123456789abcdef0123456789abcdef'
text core_parsers 6 url-twice '/hook?token=9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9&token=x'
text core_parsers 7 event-id '41768|invoice.payment_initiated|PAID'

# ---------------------------------------------------------------------------- payconiq
payconiq=$fixtures/payconiq/tests/fixtures
header='{"typ":"JOSE+JSON","kid":"fuzz-key","alg":"ES256","crit":["https://payconiq.com/sub","https://payconiq.com/iss","https://payconiq.com/iat","https://payconiq.com/jti","https://payconiq.com/path"],"https://payconiq.com/sub":"5fxxxxxxxxxxxxxxxxxxxxxx","https://payconiq.com/iss":"Payconiq","https://payconiq.com/iat":"2024-05-01T12:00:00.000Z","https://payconiq.com/jti":"fuzz-jti","https://payconiq.com/path":"https://shop.example/payconiq/callback"}'
plain_sub='{"typ":"JOSE+JSON","kid":"fuzz-key","alg":"ES256","crit":["https://payconiq.com/iss","https://payconiq.com/iat","https://payconiq.com/jti","https://payconiq.com/path"],"sub":"5fxxxxxxxxxxxxxxxxxxxxxx","https://payconiq.com/iss":"Payconiq","https://payconiq.com/iat":"2024-05-01T11:59:00Z","https://payconiq.com/jti":"fuzz-jti-2","https://payconiq.com/path":"https://shop.example/payconiq/callback","x5t#S256":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
signature=$(head -c 64 /dev/zero | b64url)
printf '%s..%s' "$(printf %s "$header" | b64url)" "$signature" | seed payconiq 0 signature
printf %s "$header" | seed payconiq 1 jose-header
printf %s "$plain_sub" | seed payconiq 1 jose-header-plain-sub
printf '%s' '{"keys":[{"kty":"EC","crv":"P-256","kid":"es.signature.payconiq.com","use":"sig","x":"W0I_FiwBHNuSce7q_mTVIepmerYABWjSgCfVPg5CicQ","y":"5vb0hQhdCEqpaanlFyrMCVjxBH7tPg8QfZt8ruf9YMk"},{"kty":"RSA","kid":"other","n":"AQAB","e":"AQAB"}]}' \
  | seed payconiq 2 jwks
if command -v openssl >/dev/null; then
  tmp=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=fuzz -keyout "$tmp/key.pem" -outform DER -out "$tmp/cert.der" 2>/dev/null
  seed payconiq 3 certificate "$tmp/cert.der"
  rm -r "$tmp"
fi
seed payconiq 4 callback "$payconiq/callback_succeeded.json"
seed payconiq 4 get "$payconiq/get_200.json"
for f in create_201 get_200 search_200 refund_iban_200 error_400_field_is_required; do
  seed payconiq 5 "$f" "$payconiq/$f.json"
done

# ---------------------------------------------------------------------------- fintecture
fintecture=$fixtures/fintecture/tests/fixtures
body='session_id=b2bca2bcd3b64a32a7da0766df59a7d2&status=payment_created&customer_id=1ef74051a77673de120820fb370dc382&provider=provider&state=thisisastate'
digest="SHA-256=$(printf %s "$body" | openssl dgst -sha256 -binary | base64 -w0)"
text fintecture 0 signature 'keyId="fuzz-app-id",algorithm="rsa-sha256",headers="date digest x-request-id",signature="c2lnbmF0dXJl"'
text fintecture 0 signature-token 'keyId=fuzz-app-id, algorithm="rsa-sha256", headers="date digest", signature="a\\"b,c"'
seed fintecture 1 form "$fintecture/webhook_payment_created.form"
seed fintecture 1 json "$fintecture/webhook_payment_partial.json"
text fintecture 1 redirect '?session_id=b2bca2bcd3b64a32a7da0766df59a7d2&status=payment_created&provider=cmcifr2a&state=thisisastate'
printf '\x00date: Wed, 01 May 2024 12:00:00 GMT\ndigest: %s\nx-request-id: 88c414df-6895-48db-8ef3-1fd1ce4272c6' "$digest" \
  | seed fintecture 2 signing-string
printf '\x01date: Wed, 01 May 2024 12:00:00 GMT\ndigest: %s' "$digest" | seed fintecture 2 signing-string-no-id
{ printf '\x00'; cat "$fintecture/webhook_payment_created.form"; } | seed fintecture 3 event-form
{ printf '\x01'; cat "$fintecture/webhook_payment_partial.json"; } | seed fintecture 3 event-json
{ printf '\x02'; cat "$fintecture/webhook_payment_partial.json"; } | seed fintecture 3 event-untyped
for f in payment_200 payment_list_200 refund_200 settlement_200 settlements_200 connect_200 error_400; do
  seed fintecture 4 "$f" "$fintecture/$f.json"
done
text fintecture 5 date-imf 'Wed, 26 Feb 2020 17:29:51 GMT'
text fintecture 5 date-asctime 'Wed Feb 26 17:29:51 2020'

# ---------------------------------------------------------------------------- hub2
hub2=$fixtures/hub2/tests/fixtures
hub2_body='{"id":"evt_2Hx7Rk4Nq9Wb1Ls6Pz3Ty","type":"payment_intent.succeeded","createdAt":"2022-07-18T06:37:40.650Z","data":{"id":"pi_tffiDaXyWQu203rIXhujW","createdAt":"2022-07-18T06:35:25.932Z","updatedAt":"2022-07-18T06:37:40.503Z","merchantId":"MTE1ODE2","purchaseReference":"Test_YYYY_MM_DD_01","customerReference":"Test_01","amount":200,"currency":"XOF","status":"successful","mode":"sandbox"}}'
text hub2 0 signature "s1=$(hmac_hex whsec_fuzz_current_secret "$hub2_body"),s0=$(hmac_hex whsec_fuzz_previous_secret "$hub2_body")"
text hub2 0 signature-spaces 's1=0000000000000000000000000000000000000000000000000000000000000000 , t=1,'
for f in event_intent_created event_intent_succeeded event_payment_failed event_payment_succeeded; do
  seed hub2 1 "$f" "$hub2/$f.json"
done
for f in attempt_otp_201 attempt_wave_redirection_201 create_intent_201 error_400_reference error_401 \
  get_intent_successful_200 list_intents_200 status_200 webhook_created_201 webhooks_list_200; do
  seed hub2 2 "$f" "$hub2/$f.json"
done

# ---------------------------------------------------------------------------- banq
banq=$fixtures/banq/tests/fixtures
text banq 0 url 'https://shop.example/banq/webhook?token=9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9'
text banq 0 url-escaped '/banq/webhook?a=1&token=9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e%%39#frag'
seed banq 1 webhook_payment_completed "$banq/webhook_payment_completed.json"
for f in get_paid_link_200 payment_completed_200 payment_failed_200 payment_pending_200 users_me_200 \
  webhook_config_request error_404; do
  seed banq 2 "$f" "$banq/$f.json"
done

# ---------------------------------------------------------------------------- paylican
paylican=$fixtures/paylican/tests/fixtures
basic="Basic $(printf %s 'shop:c1d0e7b2a4c58a1e6d4b3c2f1a0e99f3' | base64 -w0)"
text paylican 0 guards-query "\x00https://shop.example/paylican/webhook?token=9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9\n$basic"
text paylican 1 guards-path "\x01https://shop.example/paylican/webhook/9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9\n$basic"
for f in webhook_payment_error webhook_payment_executed webhook_payment_initiated webhook_payment_rejected; do
  { printf '\x14'; cat "$paylican/$f.json"; } | seed paylican 2 "$f"   # ALL[20] is GNF
done
for f in create_payment_200 error_400; do
  seed paylican 3 "$f" "$paylican/$f.json"
done
text paylican 3 big-decimal '1E+2'
text paylican 3 zoned-date-time '2024-03-28T14:32:47.238686329+00:00[Africa/Conakry]'

# ---------------------------------------------------------------------------- sandbox_control
text sandbox_control 0 fault-status '{"method": "POST", "path": "/payconiq/v3/payments", "fault": {"kind": "status", "status": 500}, "times": 1, "phase": "after"}'
text sandbox_control 0 fault-latency '{"path": "/hub2/payment-intents/*", "fault": {"kind": "latency", "ms": 250}}'
text sandbox_control 0 fault-429 '{"method": "GET", "path": "/banq/**", "fault": {"kind": "too_many_requests", "retry_after_secs": 2}}'
text sandbox_control 0 fault-body '{"path": "/fintecture/pis/v2/connect", "fault": {"kind": "status", "status": 418, "body": "{}"}, "phase": "before"}'
text sandbox_control 0 fault-drop '{"path": "/paylican/**", "fault": {"kind": "drop"}}'
text sandbox_control 1 webhook-url '{"url": "https://shop.example/hook"}'
text sandbox_control 1 webhook-url-null '{"url": null}'
text sandbox_control 2 otp '{"code": "123456"}'
text sandbox_control 3 status '{"status": "SUCCEEDED"}'
text sandbox_control 4 provider 'payconiq'
text sandbox_control 4 sink 'status/503'
text sandbox_control 5 pattern '/hub2/payment-intents/*\nGET /hub2/payment-intents/abc'
text sandbox_control 5 pattern-rest '/hub2/**\nPOST /hub2/payment-intents/abc/attempts'
