# METADATA
# title: Fetch by primary key without a tenant filter (IDOR)
# description: |
#   ## What it does
#   Finds lookups of a single row of a tenant-owned table by its primary key with
#   no tenant in the lookup: Django `.get(pk=...)` through any manager the model
#   declares (`Card.visible_objects.get(pk=...)`), `get_object_or_404(Model, pk=...)`
#   (also `generics.`/`shortcuts.`), a generic detail, update or delete view whose
#   `model = X` or `queryset` no `get_queryset` narrows, a serializer's related field
#   over the whole table; SQLAlchemy `session.get(Model, id)`; `SELECT ... WHERE id = %s`.
#   A model keyed by a one-to-one link to its parent (`board = OneToOneField(Board,
#   primary_key=True)`) has the parent's tenant, reached through the link
#   (`board__teamspace_id`).
#
#   ## Why is this bad?
#   This is the insecure direct object reference (IDOR) shape. Ids come from the
#   URL or the request body, are often sequential, and are trivial to change: any
#   signed-in user of any tenant can read (or, through the object, change) another
#   tenant's row by guessing its id. Authentication does not help; only a tenant
#   filter in the lookup does.
#
#   ## Example
#   ```python
#   def invoice_detail(request, invoice_id):
#       invoice = Invoice.objects.get(pk=invoice_id)
#   ```
#
#   ## Use instead
#   ```python
#   def invoice_detail(request, invoice_id):
#       invoice = Invoice.objects.get(pk=invoice_id, account=request.account)
#   ```
#   ```python
#   invoice = session.scalars(
#       select(Invoice).where(Invoice.id == invoice_id, Invoice.account_id == account_id)
#   ).one()
#   ```
#
#   ## Where it is reported
#   tenantlint follows the call graph from the query to the entry points that reach
#   it. A request path reports at this rule's severity, at the handler's call into the
#   data layer; background, command, migration, startup, admin and unreachable code
#   reports as info (config `contexts`). A path that a guard ties to the caller's tenant
#   is not reported (below), nor one whose id the caller cannot choose: an attribute of
#   a row already fetched, what a dependency returned, a constant or an id the code
#   generated (`uuid4()`). Ids from the URL, the body, a serializer's related field, or
#   that cannot be traced are reported.
#
#   ## Guards that make a lookup safe
#   ```python
#   deal = repo.get_deal(session, deal_id)            # a comparison that fails closed
#   if deal is None or deal.account_id != user.account_id:
#       raise HTTPException(404)
#
#   deal = repo.get_deal(session, deal_id)            # a guard helper whose checks
#   require_same_account(user, deal)                  # verify its parameter
#
#   if not Member.objects.filter(deal_id=deal_id, user=request.user).exists():
#       return Response(status=403)                   # a membership check on the key
#
#   class IsDealMember(BasePermission):               # a permission class, decorator or
#       def has_permission(self, request, view):      # dependency verifying the URL's id
#           return Member.objects.filter(deal_id=view.kwargs["deal_id"],
#                                        user=request.user).exists()
#
#   contact = repo.get_contact(session, deal.owner_id)  # a key read from a checked row
#
#   class CardSerializer(serializers.ModelSerializer):    # a validator of a related field
#       board = serializers.PrimaryKeyRelatedField(queryset=Board.objects.all())
#       def validate_board(self, board):
#           if board.team_id != self.context["request"].user.team_id:
#               raise serializers.ValidationError("no such board")
#           return board
#   ```
#   A helper outside the scanned tree is declared in config:
#   `guards: [{function: "mylib.authorize", checks: [1]}]`. An `or` of checks guards
#   only what every branch verifies; a check of something other than the tenant or the
#   owner (`contact.email.endswith(...)`) guards nothing.
# related_resources:
#   - ref: https://cwe.mitre.org/data/definitions/639.html
#     description: "CWE-639: Authorization Bypass Through User-Controlled Key"
#   - ref: https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/
#     description: "OWASP API Security Top 10 API1:2023 Broken Object Level Authorization"
#   - ref: https://cheatsheetseries.owasp.org/cheatsheets/Insecure_Direct_Object_Reference_Prevention_Cheat_Sheet.html
#     description: "OWASP Insecure Direct Object Reference Prevention Cheat Sheet"
# custom:
#   id: unscoped-lookup
#   severity: error
package tenantlint.rules.unscoped_lookup

import rego.v1

import data.tenantlint.lib

# Writes through a lookup are reported by unscoped-write.
violations := [v |
	some query in input.queries
	query.lookup == true
	some ref in query.refs
	ref.use == "read"
	lib.unscoped(ref)
	some site in lib.open_lookup_sites(query)
	v := lib.site_violation("unscoped-lookup", query, ref, site, lookup_message(ref))
]

lookup_message(ref) := concat("", [
	lib.subject(ref), " is fetched by primary key without a tenant filter", lib.tenant_column_hint(ref),
	": any tenant can read another tenant's row by its id (IDOR)", lib.ref_note(ref),
])
