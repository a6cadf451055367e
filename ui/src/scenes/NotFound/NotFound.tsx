import { Empty } from '../../common/Notice/Notice';
import { Link } from '../../router';

export function NotFound({ home }: { home: string }) {
  return (
    <Empty title="Page not found">
      <p><Link to={home}>Go to the start page</Link></p>
    </Empty>
  );
}
