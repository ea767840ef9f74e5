"""Mail policy records (SPF, DMARC, DKIM, MTA-STS, TLS-RPT) parsed into small dataclasses.

Pure: text in, dataclasses out, no DNS and no zone. Every term keeps its offset inside the
record text, so a rule can say which term is wrong and where (`at character N`). The rules in
`zonetool.rules.{spf,dmarc,dkim,mtasts,tlsrpt}` judge what these parsers return.
"""
