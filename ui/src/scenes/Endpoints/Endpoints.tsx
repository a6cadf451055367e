import { PageHeader } from '../../common/Layout/Layout';
import { Empty, ErrorMessage, Loading } from '../../common/Notice/Notice';
import { Link } from '../../router';
import { useScope } from '../../session';
import { EnvelopeSettings } from '../EnvelopeSettings/EnvelopeSettings';
import { PortalLink } from '../PortalLink/PortalLink';
import { EndpointCard } from './EndpointCard';
import { useEndpoints } from './useEndpoints';

/** Endpoints: where this account's webhooks go. */
export function Endpoints() {
  const { app, base, can, portal } = useScope();
  const list = useEndpoints(app);
  const add = can('manage_endpoints') && (
    <Link class="btn btn-primary" to={`${base}/endpoints/new`}>
      Add endpoint
    </Link>
  );
  return (
    <section>
      <PageHeader title="Endpoints">
        {!portal && <EnvelopeSettings />}
        {!portal && <PortalLink />}
        {add}
      </PageHeader>
      {list.loading && !list.data && <Loading />}
      {list.error !== undefined && <ErrorMessage error={list.error} onRetry={() => list.reload()} />}
      {list.data?.length === 0 && (
        <Empty title="No endpoints yet">
          <p class="muted">An endpoint is a URL of yours that receives events as signed HTTP POST requests.</p>
          {add}
        </Empty>
      )}
      {list.data && list.data.length > 0 && (
        <div class="cards">
          {list.data.map((ep) => (
            <EndpointCard key={ep.id} endpoint={ep} />
          ))}
        </div>
      )}
    </section>
  );
}
