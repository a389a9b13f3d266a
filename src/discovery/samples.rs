//! Replies as real responders send them, for tests. Ids are replaced by fixed ones; everything
//! else (prefixes, whitespace, element order) is kept as the responder wrote it.

/// The MessageID of the Probe Windows' sample ProbeMatches answers.
pub const WINDOWS_PROBE_ID: &str = "urn:uuid:29cf10da-5c41-4d55-b184-5ee15e38ce23";

/// A Windows computer's Function Discovery publisher answering a `wsdp:Device` Probe. The shape
/// (whitespace inside text, AppSequence, `wsdp:Device pub:Computer`, XAddrs on 5357) follows the
/// WSDAPI "ProbeMatches message" sample and what Windows 10/11 hosts send.
pub const WINDOWS_COMPUTER: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<soap:Envelope
    xmlns:soap="http://www.w3.org/2003/05/soap-envelope"
    xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"
    xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"
    xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof"
    xmlns:pub="http://schemas.microsoft.com/windows/pub/2005/07">
<soap:Header>
    <wsa:To>
        http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous
    </wsa:To>
    <wsa:Action>
        http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches
    </wsa:Action>
    <wsa:MessageID>
        urn:uuid:967d0036-fe69-40ad-8191-dd1fc8ef64ab
    </wsa:MessageID>
    <wsa:RelatesTo>
        urn:uuid:29cf10da-5c41-4d55-b184-5ee15e38ce23
    </wsa:RelatesTo>
    <wsd:AppSequence InstanceId="1"
        SequenceId="urn:uuid:369a7d7b-5f87-48a4-aa9a-189edf2a8772"
        MessageNumber="9">
    </wsd:AppSequence>
</soap:Header>
<soap:Body>
    <wsd:ProbeMatches>
        <wsd:ProbeMatch>
            <wsa:EndpointReference>
                <wsa:Address>
                    urn:uuid:ad2a5e33-1d7c-4c3e-8c1d-2e8e7a9c4f10
                </wsa:Address>
            </wsa:EndpointReference>
            <wsd:Types>wsdp:Device pub:Computer</wsd:Types>
            <wsd:XAddrs>
                http://10.0.0.5:5357/ad2a5e33-1d7c-4c3e-8c1d-2e8e7a9c4f10/
            </wsd:XAddrs>
            <wsd:MetadataVersion>
                2
            </wsd:MetadataVersion>
        </wsd:ProbeMatch>
    </wsd:ProbeMatches>
</soap:Body>
</soap:Envelope>"#;

/// Debian's wsdd 0.7.0 answering our `wsdp:Device` Probe, as captured in a network namespace
/// (one line, ElementTree's serialisation; no XAddrs in a ProbeMatch).
pub const WSDD: &str = concat!(
    r#"<?xml version='1.0' encoding='utf-8'?>"#,
    "\n",
    r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof" xmlns:pub="http://schemas.microsoft.com/windows/pub/2005/07">"#,
    r#"<soap:Header><wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action><wsa:MessageID>urn:uuid:8e1c2a6e-5b7f-11f0-9a3d-0a1b2c3d4e5f</wsa:MessageID><wsa:RelatesTo>urn:uuid:5a4f0a53-1c1e-4d9f-9a3a-0c8f2b6e7d11</wsa:RelatesTo><wsd:AppSequence InstanceId="1764093000" SequenceId="urn:uuid:7f0e9d8c-5b7f-11f0-9a3d-0a1b2c3d4e5f" MessageNumber="2" /></soap:Header>"#,
    r#"<soap:Body><wsd:ProbeMatches><wsd:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:2a7f5c1e-0d3b-5e8a-9c4f-6b1d2e3f4a5b</wsa:Address></wsa:EndpointReference><wsd:Types>wsdp:Device pub:Computer</wsd:Types><wsd:MetadataVersion>1</wsd:MetadataVersion></wsd:ProbeMatch></wsd:ProbeMatches></soap:Body></soap:Envelope>"#
);

/// python `wsdiscovery` 2.1.2 publishing a service with a Type, a Scope and an XAddr of our
/// choosing: short prefixes (`s:`, `a:`, `d:`), the type's namespace declared on the Types
/// element itself, and minidom's pretty-printing with tabs and newlines around every text.
pub const PYTHON_WSDISCOVERY: &str = r#"<?xml version="1.0" ?>
<s:Envelope xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:s="http://www.w3.org/2003/05/soap-envelope">
	<s:Header>
		<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action>
		<a:MessageID>urn:uuid:4b6e2f70-9c1d-4e3a-8b5f-7d6c5b4a3921</a:MessageID>
		<a:RelatesTo>urn:uuid:0f5d2c9e-8a47-4c36-9a8e-3f1b2d4c5e60</a:RelatesTo>
		<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>
		<d:AppSequence InstanceId="1764093001" MessageNumber="3"/>
	</s:Header>
	<s:Body>
		<d:ProbeMatches>
			<d:ProbeMatch>
				<a:EndpointReference>
					<a:Address>urn:uuid:3c1d9f0e-7b2a-4e58-9d6c-1a2b3c4d5e6f</a:Address>
				</a:EndpointReference>
				<d:Types xmlns:ns1="http://example.org/lab/printing">ns1:Printer</d:Types>
				<d:Scopes>http://example.org/lab/floor2</d:Scopes>
				<d:XAddrs>http://10.0.0.7:8080/abc</d:XAddrs>
				<d:MetadataVersion>1</d:MetadataVersion>
			</d:ProbeMatch>
		</d:ProbeMatches>
	</s:Body>
</s:Envelope>
"#;

/// python `wsdiscovery` answering a typed Probe that matched none of its services: a
/// ProbeMatches with no ProbeMatch ("a responder, but no match").
pub const EMPTY_MATCHES: &str = r#"<?xml version="1.0" ?>
<s:Envelope xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:s="http://www.w3.org/2003/05/soap-envelope">
	<s:Header>
		<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action>
		<a:MessageID>urn:uuid:9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a</a:MessageID>
		<a:RelatesTo>urn:uuid:0f5d2c9e-8a47-4c36-9a8e-3f1b2d4c5e60</a:RelatesTo>
		<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>
		<d:AppSequence InstanceId="1764093001" MessageNumber="4"/>
	</s:Header>
	<s:Body>
		<d:ProbeMatches/>
	</s:Body>
</s:Envelope>
"#;

/// Every sample, for loops over "real replies" (property tests, fuzz seeds).
pub const ALL: [&str; 4] = [WINDOWS_COMPUTER, WSDD, PYTHON_WSDISCOVERY, EMPTY_MATCHES];
